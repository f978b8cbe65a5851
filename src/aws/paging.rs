//! Following every page of a List/Describe call (EC2's NextToken, EMR's Marker), counting each page as
//! one call, with a bound so a server that keeps answering with a token can't loop us forever.

use std::future::Future;

use super::CallCounter;
use crate::facts::CollectError;

/// Pages followed at most per call.
const MAX_PAGES: usize = 1000;

/// One page: what it holds, and the token of the next (absent or empty on the last page).
pub(super) struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub fn new(items: impl IntoIterator<Item = T>, next: Option<&str>) -> Self {
        Page {
            items: items.into_iter().collect(),
            next: next.map(str::to_string),
        }
    }
}

/// Every page of `service:action`: `fetch` is given the token of the page to ask for (`None` first).
pub(super) async fn every_page<T, F, Fut>(
    calls: &CallCounter,
    service: &str,
    action: &str,
    fetch: F,
) -> Result<Vec<T>, CollectError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, CollectError>>,
{
    let mut items = Vec::new();
    each_page(calls, service, action, fetch, |page| items.extend(page)).await?;
    Ok(items)
}

/// As [`every_page`], handing each page's items to `take` as soon as it arrives, so the caller can
/// start on them while the next page is asked for. On an error, the pages before it were taken.
pub(super) async fn each_page<T, F, Fut>(
    calls: &CallCounter,
    service: &str,
    action: &str,
    mut fetch: F,
    mut take: impl FnMut(Vec<T>),
) -> Result<(), CollectError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, CollectError>>,
{
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        calls.record(service, action);
        let page = fetch(token.take()).await?;
        take(page.items);
        match page.next.filter(|next| !next.is_empty()) {
            Some(next) => token = Some(next),
            None => return Ok(()),
        }
    }
    Err(CollectError {
        service: service.into(),
        action: action.into(),
        code: "TooManyPages".into(),
        message: format!("stopped after {MAX_PAGES} pages"),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_are_followed_until_the_token_ends_and_each_is_counted() {
        let calls = CallCounter::default();
        let tokens = ["a", "b", ""];
        let items = every_page(&calls, "ec2", "DescribeThings", |token| async move {
            let at = match token.as_deref() {
                None => 0,
                Some("a") => 1,
                _ => 2,
            };
            Ok(Page::new([at], Some(tokens[at])))
        })
        .await
        .expect("pages");
        assert_eq!(items, [0, 1, 2]);
        assert_eq!(calls.snapshot()["ec2:DescribeThings"], 3);
    }

    #[tokio::test]
    async fn a_token_that_never_ends_is_an_error_not_a_loop() {
        let calls = CallCounter::default();
        let error = every_page::<u8, _, _>(&calls, "emr", "ListThings", |_| async {
            Ok(Page::new([], Some("again")))
        })
        .await
        .expect_err("bounded");
        assert_eq!(error.code, "TooManyPages");
        assert_eq!(calls.snapshot()["emr:ListThings"], MAX_PAGES as u64);
    }
}
