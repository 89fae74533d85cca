//! What may be dispensed of a prescription, without IO. A prescription allows
//! `1 + refills` fills of `quantity` each; a fill may be dispensed in parts (a partial
//! fill, when the pharmacy has less in stock), and the next fill opens only when the
//! one before is complete. Every dispense names the fill it is for and how many
//! dispenses the pharmacist saw before it: a repeated or concurrent request for the
//! same fill is refused, whatever order the requests arrive in (the store applies the
//! outcome only where the prescription still has that many dispenses).

use serde::Serialize;

use super::prescription::PrescriptionStatus;
use crate::{Error, Result};

/// Quantities are decimal amounts (tablets, millilitres); sums within this of a fill's
/// quantity complete it.
const TOLERANCE: f64 = 1e-6;

/// Where a prescription stands for dispensing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fills {
    /// One fill's quantity, as prescribed.
    pub quantity: f64,
    /// Fills after the first, as prescribed.
    pub refills: u32,
    /// Dispenses so far (the version a request names).
    pub dispenses: u32,
    /// Fills dispensed in full.
    pub completed: u32,
    /// What is dispensed so far of the open fill (0 when none is open).
    pub open_fill_dispensed: f64,
}

impl Fills {
    /// A prescription as signed: nothing dispensed.
    pub fn new(quantity: f64, refills: u32) -> Fills {
        Fills {
            quantity,
            refills,
            dispenses: 0,
            completed: 0,
            open_fill_dispensed: 0.0,
        }
    }

    /// How many fills the prescription allows in all.
    pub fn allowed(&self) -> u32 {
        self.refills.saturating_add(1)
    }

    /// The fill a dispense now belongs to (1-based), `None` when all are complete.
    pub fn next_fill(&self) -> Option<u32> {
        (self.completed < self.allowed()).then_some(self.completed + 1)
    }

    /// Fills not yet begun or not yet complete, counting the open one.
    pub fn remaining(&self) -> u32 {
        self.allowed() - self.completed.min(self.allowed())
    }

    /// What may still be dispensed of the open fill.
    pub fn open_fill_left(&self) -> f64 {
        if self.next_fill().is_none() {
            0.0
        } else {
            (self.quantity - self.open_fill_dispensed).max(0.0)
        }
    }
}

/// What a pharmacist asks to dispense.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DispenseRequest {
    /// The fill it is for (1-based).
    pub fill: u32,
    pub quantity: f64,
    /// How many dispenses the pharmacist saw on the prescription.
    pub previous_dispenses: u32,
}

/// A dispense that the rules allow, and where it leaves the prescription.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dispensed {
    /// Its sequence number on the prescription (1-based).
    pub sequence: u32,
    pub fill: u32,
    pub quantity: f64,
    /// Whether it completed its fill.
    pub fill_complete: bool,
    /// The prescription's fills after it.
    pub after: Fills,
}

impl Dispensed {
    /// Whether every fill the prescription allows is now dispensed.
    pub fn completes_prescription(&self) -> bool {
        self.after.next_fill().is_none()
    }
}

/// The dispense `request` would be on a prescription in `status` with `fills`, or the
/// reason it is refused: not active (cancelled, stopped, all dispensed), a stale or
/// repeated request (another dispense came first: `Conflict`), a fill that is not the
/// open one, a quantity that is not positive or exceeds what the fill has left.
pub fn dispense(
    status: PrescriptionStatus,
    fills: &Fills,
    request: &DispenseRequest,
) -> Result<Dispensed> {
    match status {
        PrescriptionStatus::Active => {}
        PrescriptionStatus::Cancelled => {
            return Err(Error::Conflict(
                "the prescriber cancelled this prescription: it must not be dispensed".into(),
            ))
        }
        PrescriptionStatus::Stopped => {
            return Err(Error::Conflict(
                "the prescriber discontinued this prescription: it must not be dispensed".into(),
            ))
        }
        PrescriptionStatus::Completed => {
            return Err(Error::Conflict(
                "every fill of this prescription has been dispensed".into(),
            ))
        }
    }
    if request.previous_dispenses != fills.dispenses {
        return Err(Error::Conflict(format!(
            "the prescription has had {} dispenses, not {}: another dispense was recorded \
             first; reload it before dispensing",
            fills.dispenses, request.previous_dispenses
        )));
    }
    let Some(open) = fills.next_fill() else {
        return Err(Error::Conflict(
            "every fill of this prescription has been dispensed".into(),
        ));
    };
    if request.fill != open {
        let message = if request.fill < open {
            format!(
                "fill {} has already been dispensed; the open fill is {open}",
                request.fill
            )
        } else {
            format!("fill {} is not open: fill {open} comes first", request.fill)
        };
        return Err(Error::invalid("fill", message));
    }
    if !request.quantity.is_finite() || request.quantity <= 0.0 {
        return Err(Error::invalid(
            "quantity",
            "the quantity must be more than zero",
        ));
    }
    let left = fills.open_fill_left();
    if request.quantity > left + TOLERANCE {
        return Err(Error::invalid(
            "quantity",
            format!(
                "fill {open} has {} left to dispense; {} is more than was prescribed",
                super::format_amount(left),
                super::format_amount(request.quantity)
            ),
        ));
    }
    let dispensed = fills.open_fill_dispensed + request.quantity;
    let fill_complete = dispensed >= fills.quantity - TOLERANCE;
    let after = Fills {
        dispenses: fills.dispenses + 1,
        completed: fills.completed + u32::from(fill_complete),
        open_fill_dispensed: if fill_complete { 0.0 } else { dispensed },
        ..*fills
    };
    Ok(Dispensed {
        sequence: fills.dispenses + 1,
        fill: open,
        quantity: request.quantity,
        fill_complete,
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIVE: PrescriptionStatus = PrescriptionStatus::Active;

    fn ask(fill: u32, quantity: f64, previous_dispenses: u32) -> DispenseRequest {
        DispenseRequest {
            fill,
            quantity,
            previous_dispenses,
        }
    }

    #[test]
    fn fills_are_dispensed_in_order_whole_or_in_parts_until_none_is_left() {
        let fills = Fills::new(30.0, 1);
        assert_eq!((fills.allowed(), fills.remaining()), (2, 2));
        let first = dispense(ACTIVE, &fills, &ask(1, 30.0, 0)).unwrap();
        assert!(first.fill_complete && !first.completes_prescription());
        assert_eq!((first.sequence, first.after.remaining()), (1, 1));
        // The second fill in two parts: 10 now, 20 later.
        let part = dispense(ACTIVE, &first.after, &ask(2, 10.0, 1)).unwrap();
        assert!(!part.fill_complete);
        assert_eq!(part.after.open_fill_left(), 20.0);
        let rest = dispense(ACTIVE, &part.after, &ask(2, 20.0, 2)).unwrap();
        assert!(rest.fill_complete && rest.completes_prescription());
        assert_eq!((rest.sequence, rest.after.remaining()), (3, 0));
        let more = dispense(ACTIVE, &rest.after, &ask(3, 1.0, 3));
        assert!(matches!(more, Err(Error::Conflict(_))));
    }

    #[test]
    fn the_same_fill_twice_or_a_stale_request_is_refused() {
        let fills = Fills::new(30.0, 2);
        let first = dispense(ACTIVE, &fills, &ask(1, 30.0, 0)).unwrap();
        // The same request again (a double click, a retry): the count moved on.
        assert!(matches!(
            dispense(ACTIVE, &first.after, &ask(1, 30.0, 0)),
            Err(Error::Conflict(_))
        ));
        // Named with the new count but for the fill already done.
        let again = dispense(ACTIVE, &first.after, &ask(1, 30.0, 1)).unwrap_err();
        assert!(
            again.to_string().contains("already been dispensed"),
            "{again}"
        );
        // A fill beyond the open one.
        let ahead = dispense(ACTIVE, &first.after, &ask(3, 30.0, 1)).unwrap_err();
        assert!(ahead.to_string().contains("fill 2 comes first"), "{ahead}");
    }

    #[test]
    fn more_than_the_fill_has_left_or_nothing_is_refused() {
        let fills = Fills::new(100.0, 0);
        let part = dispense(ACTIVE, &fills, &ask(1, 60.0, 0)).unwrap();
        let over = dispense(ACTIVE, &part.after, &ask(1, 40.5, 1)).unwrap_err();
        assert!(over.to_string().contains("40 left"), "{over}");
        for q in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(dispense(ACTIVE, &fills, &ask(1, q, 0)).is_err(), "{q}");
        }
        // Decimal parts that add up complete the fill.
        let a = dispense(ACTIVE, &Fills::new(0.3, 0), &ask(1, 0.1, 0)).unwrap();
        let b = dispense(ACTIVE, &a.after, &ask(1, 0.2, 1)).unwrap();
        assert!(b.fill_complete && b.completes_prescription());
    }

    #[test]
    fn an_ended_prescription_is_never_dispensed() {
        let fills = Fills::new(30.0, 3);
        for status in [
            PrescriptionStatus::Cancelled,
            PrescriptionStatus::Stopped,
            PrescriptionStatus::Completed,
        ] {
            assert!(matches!(
                dispense(status, &fills, &ask(1, 30.0, 0)),
                Err(Error::Conflict(_))
            ));
        }
    }
}
