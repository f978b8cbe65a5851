# Fragment of a Packer template that builds an EMR custom AMI and checks it twice:
#  1. inside the build, `inspect /` checks the image's files (users, SSM agent, DNS rotate, /tmp /var /emr,
#     os-release and kernels, EMR leftovers) before the AMI is created;
#  2. after the build, `image` checks the registered AMI (HVM, EBS, volumes, root size, generation,
#     architecture, launch permission, …) against the release and instance types.
# Either failing (exit code 1 or 3) fails the build.

variable "emr_release" {
  type    = string
  default = "emr-7.1.0"
}

source "amazon-ebs" "emr_base" {
  region        = "us-east-1"
  instance_type = "m6i.large"
  ssh_username  = "ec2-user"
  ami_name      = "emr-base-al2023-k61-x86_64-{{timestamp}}"
  source_ami_filter {
    filters = {
      name                = "al2023-ami-2023.*-kernel-6.1-x86_64"
      virtualization-type = "hvm"
      root-device-type    = "ebs"
    }
    owners      = ["amazon"]
    most_recent = true
  }
  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = 20
    volume_type           = "gp3"
    delete_on_termination = true
  }
  tags = {
    base_ami_name = "{{ .SourceAMIName }}"
    source_ami    = "{{ .SourceAMI }}"
  }
}

build {
  sources = ["source.amazon-ebs.emr_base"]

  provisioner "shell" {
    inline = [
      "sudo dnf -y update",
      "sudo systemctl disable amazon-ssm-agent || true",
      "sudo dnf clean all && sudo rm -rf /var/cache/dnf /tmp/*",
    ]
  }

  # The binary is built for the build instance's architecture and copied in.
  provisioner "file" {
    source      = "bin/emr-ami-audit-x86_64-linux"
    destination = "/tmp/emr-ami-audit"
  }

  provisioner "shell" {
    inline = [
      "chmod +x /tmp/emr-ami-audit",
      "sudo /tmp/emr-ami-audit inspect / --release ${var.emr_release}",
      "rm -f /tmp/emr-ami-audit",
    ]
  }

  post-processor "manifest" {
    output = "manifest.json"
  }

  # After the AMI exists: audit it with the instance types the clusters will use.
  post-processor "shell-local" {
    inline = [
      "AMI=$(jq -r '.builds[-1].artifact_id' manifest.json | cut -d: -f2)",
      "emr-ami-audit image \"$AMI\" --release ${var.emr_release} --instance-type m6i.xlarge,r6i.xlarge",
    ]
  }
}
