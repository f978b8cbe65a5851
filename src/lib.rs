//! emr-ami-audit checks AMIs, EMR clusters and launch plans against Amazon EMR's custom AMI constraints.
//!
//! The pipeline: targets → [`collect`] (through [`aws`], the only code that sees SDK types) →
//! [`facts`] → [`rules`] (pure functions over facts and a [`context::Context`]) → [`report`].

pub mod audit;
pub mod aws;
pub mod cli;
pub mod collect;
pub mod config;
pub mod context;
pub mod facts;
pub mod input_file;
pub mod invocation;
pub mod plan;
pub mod progress;
pub mod release;
pub mod replay;
pub mod report;
pub mod rootfs;
pub mod rules;
pub mod run;
pub mod sink;
pub mod terminal;
pub mod validate;
