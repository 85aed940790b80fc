//! Pointer gestures on the chart: one pointer down drags (pans), two pinch (zoom around their
//! midpoint, and pan as the midpoint moves). Fed with pointer events, it answers what each move
//! means; the caller applies that to the [`Viewport`](super::viewport::Viewport). Pure.

/// Smallest distance between two pointers that a pinch measures against, so two fingers that
/// land almost together do not zoom wildly.
const MIN_PINCH_SPAN: f64 = 16.0;

/// What one pointer move asks of the viewport.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Motion {
    /// Nothing: a hover, or a pointer the gesture does not follow.
    None,
    /// Drag by `dx` pixels (positive: to the right, towards older candles).
    Pan {
        /// Horizontal movement in CSS pixels.
        dx: f64,
    },
    /// Pinch: zoom by `factor` around the column `x`, and pan by `dx`.
    Pinch {
        /// Zoom factor since the last move (above 1 zooms in).
        factor: f64,
        /// Column of the pinch's midpoint.
        x: f64,
        /// Horizontal movement of the midpoint.
        dx: f64,
    },
}

/// The pointers that are down on the chart, at most two.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gesture {
    pointers: Vec<(i32, f64)>,
}

impl Gesture {
    /// A pointer went down at column `x`. A third pointer is ignored.
    pub fn down(&mut self, id: i32, x: f64) {
        if self.pointers.len() < 2 && !self.pointers.iter().any(|&(p, _)| p == id) {
            self.pointers.push((id, x));
        }
    }

    /// A pointer went up or was cancelled.
    pub fn up(&mut self, id: i32) {
        self.pointers.retain(|&(p, _)| p != id);
    }

    /// Whether any pointer is down (a drag or pinch is under way).
    pub fn active(&self) -> bool {
        !self.pointers.is_empty()
    }

    /// A pointer moved to column `x`.
    pub fn moved(&mut self, id: i32, x: f64) -> Motion {
        let Some(index) = self.pointers.iter().position(|&(p, _)| p == id) else {
            return Motion::None;
        };
        let old = std::mem::replace(&mut self.pointers[index].1, x);
        match self.pointers.as_slice() {
            [_] => Motion::Pan { dx: x - old },
            &[(_, a), (_, b)] => {
                let other = if index == 0 { b } else { a };
                let span = |a: f64, b: f64| (a - b).abs().max(MIN_PINCH_SPAN);
                Motion::Pinch {
                    factor: span(x, other) / span(old, other),
                    x: (x + other) / 2.0,
                    dx: (x + other) / 2.0 - (old + other) / 2.0,
                }
            }
            _ => Motion::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pointer_drags() {
        let mut gesture = Gesture::default();
        assert_eq!(gesture.moved(1, 10.0), Motion::None, "a hover is no drag");
        gesture.down(1, 100.0);
        assert!(gesture.active());
        assert_eq!(gesture.moved(1, 130.0), Motion::Pan { dx: 30.0 });
        assert_eq!(gesture.moved(1, 120.0), Motion::Pan { dx: -10.0 });
        gesture.up(1);
        assert!(!gesture.active());
        assert_eq!(gesture.moved(1, 0.0), Motion::None);
    }

    #[test]
    fn two_pointers_pinch_around_their_midpoint() {
        let mut gesture = Gesture::default();
        gesture.down(1, 100.0);
        gesture.down(2, 200.0);
        let Motion::Pinch { factor, x, dx } = gesture.moved(2, 300.0) else {
            panic!("two pointers pinch");
        };
        assert!((factor - 2.0).abs() < 1e-9, "fingers twice as far apart");
        assert_eq!((x, dx), (200.0, 50.0));
        gesture.down(3, 0.0);
        assert_eq!(
            gesture.moved(3, 10.0),
            Motion::None,
            "a third finger is ignored"
        );
        gesture.up(1);
        assert_eq!(
            gesture.moved(2, 310.0),
            Motion::Pan { dx: 10.0 },
            "back to a drag"
        );
    }

    #[test]
    fn fingers_landing_together_do_not_zoom_wildly() {
        let mut gesture = Gesture::default();
        gesture.down(1, 100.0);
        gesture.down(2, 100.0);
        let Motion::Pinch { factor, .. } = gesture.moved(2, 104.0) else {
            panic!("a pinch");
        };
        assert_eq!(factor, 1.0);
    }
}
