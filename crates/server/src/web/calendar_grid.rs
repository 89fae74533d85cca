//! The week calendar's layout: each visit is a block placed in time — its top from its
//! local start, its height from its length — and visits that overlap stand side by side.
//!
//! The page's strict CSP allows no `style` attribute, so a block's place is a handful of
//! classes (`at-h9 at-m6 len-h0 len-m6 lane-0 lanes-1`) that the stylesheet turns into
//! a position, in steps of five minutes. The text on each block states the exact times.

use chrono::{Duration, NaiveDateTime, Timelike};

/// The hours every week shows, widened to hold each visit.
const DAY_FROM_HOUR: u32 = 8;
const DAY_TO_HOUR: u32 = 18;
/// More visits at once than this and the week is shown as lists instead of blocks.
pub const MAX_LANES: usize = 8;
/// The smallest block drawn, so a short visit keeps a line of text.
const MIN_STEPS: i64 = 3;

/// The hours the week's grid spans, `from` to `to` (local, `to` ≤ 24).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: u32,
    pub to: u32,
}

impl Window {
    /// The hours to label down the side: `from`, `from + 1`, … before `to`.
    pub fn hours(self) -> impl Iterator<Item = u32> {
        self.from..self.to
    }

    /// The class that gives the grid its height.
    pub fn class(self) -> String {
        format!("hours-{}", self.to - self.from)
    }
}

/// The hours that hold every visit (start and end in local time, by day).
pub fn window<'a>(visits: impl IntoIterator<Item = &'a (NaiveDateTime, NaiveDateTime)>) -> Window {
    let mut w = Window {
        from: DAY_FROM_HOUR,
        to: DAY_TO_HOUR,
    };
    for (start, end) in visits {
        w.from = w.from.min(start.hour());
        let last_hour = if end.date() > start.date() {
            24
        } else {
            end.hour() + u32::from(end.minute() > 0 || end.second() > 0)
        };
        w.to = w.to.max(last_hour).min(24);
    }
    w
}

/// Where one visit's block goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Five-minute steps from the top of the grid, and the block's height in steps.
    pub top: i64,
    pub length: i64,
    /// Its column among the visits it overlaps, and how many columns they need.
    pub lane: usize,
    pub lanes: usize,
}

impl Placement {
    /// The classes the stylesheet positions the block by.
    pub fn classes(&self) -> String {
        format!(
            "at-h{} at-m{} len-h{} len-m{} lane-{} lanes-{}",
            self.top / 12,
            self.top % 12,
            self.length / 12,
            self.length % 12,
            self.lane,
            self.lanes
        )
    }
}

/// The blocks of one day's visits (local start and end, in order of start), in the
/// same order; None when more visits overlap than the grid can show side by side.
pub fn place(
    day_top: NaiveDateTime,
    window: Window,
    visits: &[(NaiveDateTime, NaiveDateTime)],
) -> Option<Vec<Placement>> {
    let bottom = day_top + Duration::hours(i64::from(window.to - window.from));
    let steps = |d: Duration| (d.num_seconds() + 150) / 300;
    let mut placed: Vec<Placement> = Vec::with_capacity(visits.len());
    // The visits overlapping one another transitively, and when each lane frees up.
    let mut cluster_start = 0;
    let mut lane_free: Vec<NaiveDateTime> = Vec::new();
    let mut cluster_end = day_top;
    for (i, (start, end)) in visits.iter().enumerate() {
        if i > 0 && *start >= cluster_end {
            let lanes = lane_free.len();
            placed[cluster_start..]
                .iter_mut()
                .for_each(|p| p.lanes = lanes);
            cluster_start = i;
            lane_free.clear();
        }
        let lane = match lane_free.iter().position(|free| free <= start) {
            Some(lane) => lane,
            None => {
                lane_free.push(*start);
                lane_free.len() - 1
            }
        };
        if lane_free.len() > MAX_LANES {
            return None;
        }
        lane_free[lane] = *end.max(start);
        cluster_end = if i == cluster_start {
            *end
        } else {
            cluster_end.max(*end)
        };
        let top = steps(*start - day_top).max(0);
        let length = (steps(*end.min(&bottom) - *start)).max(MIN_STEPS);
        placed.push(Placement {
            top,
            length: length.min(steps(bottom - day_top) - top).max(1),
            lane,
            lanes: 1,
        });
    }
    let lanes = lane_free.len().max(1);
    placed[cluster_start..]
        .iter_mut()
        .for_each(|p| p.lanes = lanes);
    Some(placed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 8)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    const WORKDAY: Window = Window { from: 8, to: 18 };

    #[test]
    fn a_visit_is_placed_by_its_start_and_length() {
        let p = place(at(8, 0), WORKDAY, &[(at(9, 30), at(10, 0))]).unwrap();
        assert_eq!(
            p,
            [Placement {
                top: 18,
                length: 6,
                lane: 0,
                lanes: 1
            }]
        );
        assert_eq!(p[0].classes(), "at-h1 at-m6 len-h0 len-m6 lane-0 lanes-1");
        // 20 minutes from 14:40.
        let p = place(at(8, 0), WORKDAY, &[(at(14, 40), at(15, 0))]).unwrap();
        assert_eq!((p[0].top, p[0].length), (80, 4));
    }

    #[test]
    fn a_short_visit_is_drawn_tall_enough_to_read() {
        let p = place(at(8, 0), WORKDAY, &[(at(9, 0), at(9, 5))]).unwrap();
        assert_eq!(p[0].length, MIN_STEPS);
    }

    #[test]
    fn visits_one_after_another_each_take_the_whole_width() {
        let visits = [(at(9, 0), at(9, 30)), (at(9, 30), at(10, 0))];
        let p = place(at(8, 0), WORKDAY, &visits).unwrap();
        assert!(p.iter().all(|p| p.lane == 0 && p.lanes == 1), "{p:?}");
    }

    #[test]
    fn overlapping_visits_stand_side_by_side_and_free_lanes_are_reused() {
        let visits = [
            (at(9, 0), at(10, 0)),
            (at(9, 15), at(9, 45)),
            (at(9, 50), at(10, 30)),
            (at(11, 0), at(11, 30)),
        ];
        let p = place(at(8, 0), WORKDAY, &visits).unwrap();
        let lanes: Vec<_> = p.iter().map(|p| (p.lane, p.lanes)).collect();
        assert_eq!(lanes, [(0, 2), (1, 2), (1, 2), (0, 1)]);
    }

    #[test]
    fn too_many_at_once_is_refused_rather_than_hidden() {
        let visits: Vec<_> = (0..=MAX_LANES).map(|_| (at(9, 0), at(9, 30))).collect();
        assert!(place(at(8, 0), WORKDAY, &visits).is_none());
        assert!(place(at(8, 0), WORKDAY, &visits[..MAX_LANES]).is_some());
    }

    #[test]
    fn the_window_widens_to_hold_early_late_and_overnight_visits() {
        assert_eq!(window(&[]), WORKDAY);
        let early_late = [(at(6, 45), at(7, 15)), (at(19, 0), at(19, 1))];
        assert_eq!(window(&early_late), Window { from: 6, to: 20 });
        let overnight = [(at(23, 30), at(23, 30) + Duration::minutes(60))];
        assert_eq!(window(&overnight), Window { from: 8, to: 24 });
        // A block that runs past the grid's end stops at it.
        let p = place(at(8, 0), Window { from: 8, to: 24 }, &overnight).unwrap();
        assert_eq!(p[0].top + p[0].length, 16 * 12);
    }

    #[test]
    fn the_stylesheet_has_a_rule_for_every_class_a_block_can_get() {
        let css = include_str!("../../assets/telemed.css");
        let mut classes: Vec<String> = Vec::new();
        classes.extend((0..24).map(|h| format!("at-h{h}")));
        classes.extend((0..12).map(|m| format!("at-m{m}")));
        classes.extend((0..=24).map(|h| format!("len-h{h}")));
        classes.extend((0..12).map(|m| format!("len-m{m}")));
        classes.extend((0..MAX_LANES).map(|l| format!("lane-{l}")));
        classes.extend((1..=MAX_LANES).map(|l| format!("lanes-{l}")));
        classes.extend(((DAY_TO_HOUR - DAY_FROM_HOUR)..=24).map(|h| format!("hours-{h}")));
        let missing: Vec<_> = classes
            .iter()
            .filter(|c| !css.contains(&format!(".{c} {{")))
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
    }
}
