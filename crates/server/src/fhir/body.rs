//! A FHIR request's JSON body, read within bounds. The route's byte limit (`[fhir]`
//! `max_resource_bytes` or `max_bundle_bytes`) stops a body before it is read; the
//! body is then measured without building anything (`telemed_fhir::bounded`), and its
//! tree is built only under a share of the node's JSON budget: the trees of all bodies
//! being handled at once take at most `JSON_BUDGET_BYTES` (as `Shape::tree_bytes`
//! estimates them from above), whatever the number of requests, so a burst of large
//! bodies waits its turn instead of growing the process without bound, and a request
//! that cannot get its share soon answers 503.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use telemed_domain::{Error, Result};
use telemed_fhir::bounded::{self, Limits, Refusal};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The memory a node's parsed FHIR bodies take at once, at most. The largest bundle
/// `Limits::BUNDLE` admits fits in it.
pub const JSON_BUDGET_BYTES: usize = 256 * 1024 * 1024;

/// The budget is counted in KiB.
const UNIT: usize = 1024;

/// How long a body waits for its share of the budget before the request answers 503.
const BUDGET_WAIT: Duration = Duration::from_secs(10);

/// The node's budget for parsed FHIR bodies (see the module).
#[derive(Clone)]
pub struct JsonBudget {
    shares: Arc<Semaphore>,
    /// A large tree was dropped since memory was last handed back.
    large_dropped: Arc<AtomicBool>,
}

impl Default for JsonBudget {
    fn default() -> Self {
        JsonBudget {
            shares: Arc::new(Semaphore::new(JSON_BUDGET_BYTES / UNIT)),
            large_dropped: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl JsonBudget {
    /// The bytes not held by a parsed body now.
    pub fn available(&self) -> usize {
        self.shares.available_permits() * UNIT
    }

    /// glibc's allocator keeps the freed nodes of large trees in its arenas, so a burst
    /// of large bodies would leave the process at its peak for good. Once a second,
    /// when a large tree was dropped and none is held any more (the burst is over and
    /// its requests' other buffers are gone too), the allocator's free pages are handed
    /// back to the system (`malloc_trim`). Runs until the process ends.
    pub async fn return_memory_after_bursts(self) {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            if self.available() == JSON_BUDGET_BYTES
                && self.large_dropped.swap(false, Ordering::Relaxed)
            {
                let _ = tokio::task::spawn_blocking(return_free_memory).await;
            }
        }
    }
}

/// A parsed body and the share of the budget it holds until it is dropped.
pub struct Parsed {
    value: Value,
    share: OwnedSemaphorePermit,
    large_dropped: Arc<AtomicBool>,
}

/// A tree at least this large has its memory handed back after the burst it came in
/// (`JsonBudget::return_memory_after_bursts`).
const RETURNED_FROM_BYTES: usize = 16 * 1024 * 1024;

impl Drop for Parsed {
    fn drop(&mut self) {
        if self.share.num_permits() * UNIT >= RETURNED_FROM_BYTES {
            self.large_dropped.store(true, Ordering::Relaxed);
        }
    }
}

impl Deref for Parsed {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.value
    }
}

/// Hands the allocator's free pages back to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_free_memory() {
    // SAFETY: malloc_trim takes no pointer and only releases memory the allocator holds
    // free; glibc documents it as safe to call from any thread at any time.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_free_memory() {}

/// Measures `body` against `limits`, waits for its share of `budget`, and parses it:
/// a JSON object, with no NUL character in its text.
pub async fn parse(budget: &JsonBudget, body: &[u8], limits: &Limits) -> Result<Parsed> {
    parse_waiting(budget, body, limits, BUDGET_WAIT).await
}

async fn parse_waiting(
    budget: &JsonBudget,
    body: &[u8],
    limits: &Limits,
    wait: Duration,
) -> Result<Parsed> {
    let shape = bounded::measure(body, limits).map_err(refused)?;
    let share_units = shape
        .tree_bytes()
        .div_ceil(UNIT)
        .min(JSON_BUDGET_BYTES / UNIT);
    let wanted = u32::try_from(share_units).unwrap_or(u32::MAX);
    let share = tokio::time::timeout(wait, budget.shares.clone().acquire_many_owned(wanted))
        .await
        .ok()
        .and_then(|acquired| acquired.ok())
        .ok_or_else(|| Error::Unavailable {
            retry_after_secs: 5,
            message: "the server is busy with other large requests; send this one again shortly"
                .into(),
        })?;
    let value: Value =
        serde_json::from_slice(body).map_err(|_| Error::invalid("body", "the body is not JSON"))?;
    if !value.is_object() {
        return Err(Error::invalid("body", "the body is not a FHIR resource"));
    }
    Ok(Parsed {
        value,
        share,
        large_dropped: budget.large_dropped.clone(),
    })
}

fn refused(refusal: Refusal) -> Error {
    Error::invalid("body", refusal.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_costliest_bundle_admitted_fits_the_budget() {
        let bundle = Limits::BUNDLE;
        let costliest = telemed_fhir::bounded::Shape {
            values: bundle.max_values,
            objects: bundle.max_values / 2,
            text_bytes: 8 * 1024 * 1024,
            depth: bundle.max_depth,
        };
        assert!(costliest.tree_bytes() <= JSON_BUDGET_BYTES);
    }

    #[tokio::test]
    async fn a_body_holds_its_share_until_dropped() {
        let budget = JsonBudget::default();
        let parsed = parse(&budget, br#"{"a":[1,2]}"#, &Limits::RESOURCE)
            .await
            .unwrap();
        assert_eq!(parsed["a"][1], 2);
        assert_eq!(budget.available(), JSON_BUDGET_BYTES - UNIT);
        drop(parsed);
        assert_eq!(budget.available(), JSON_BUDGET_BYTES);
    }

    #[tokio::test]
    async fn refusals_name_the_limit_and_take_no_share() {
        let budget = JsonBudget::default();
        let deep = format!("{}{}", "[".repeat(60), "]".repeat(60));
        let e = parse(&budget, deep.as_bytes(), &Limits::RESOURCE)
            .await
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "the body nests deeper than 48 levels");
        let e = parse(&budget, b"[1]", &Limits::RESOURCE)
            .await
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "the body is not a FHIR resource");
        assert_eq!(budget.available(), JSON_BUDGET_BYTES);
    }

    #[tokio::test]
    async fn a_body_larger_than_what_is_free_waits_then_answers_503() {
        let budget = JsonBudget::default();
        let all_but_one = (JSON_BUDGET_BYTES / UNIT - 1) as u32;
        let held = budget
            .shares
            .clone()
            .acquire_many_owned(all_but_one)
            .await
            .unwrap();
        let wait = Duration::from_millis(20);
        let two_units = format!(r#"{{"a":"{}"}}"#, "x".repeat(UNIT));
        let e = parse_waiting(&budget, two_units.as_bytes(), &Limits::RESOURCE, wait)
            .await
            .err()
            .unwrap();
        assert!(matches!(e, Error::Unavailable { .. }), "{e:?}");
        drop(held);
        assert!(parse(&budget, br#"{"a":1}"#, &Limits::RESOURCE)
            .await
            .is_ok());
    }
}
