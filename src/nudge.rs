//! "Make it a d": small steps on an image's pixels, each down the gradient of the target digit's
//! cross-entropy loss, until the network reads the target (an adversarial example you can watch).
//!
//! Each step takes `dX`, the gradient of `−log P(target)` at the input, from [`Mlp::trace`] (the
//! very forward and backward training runs, with the target as the label) and moves the pixels
//! along `−dX`, scaled so the pixel with the largest movable gradient changes by `step_size`
//! intensity levels (of 255) and the others in proportion; pixels whose gradient is under half
//! the largest stay put, so the change gathers where the network looks, a few strokes rather than
//! grey noise everywhere. Pixels stay in 0..=255; a pixel already at the end `−dX` pushes it to is left
//! out of the scaling, so the step goes to the pixels that can still move.
//!
//! The target's probability never falls from one step to the next: a step that would lower it is
//! halved (down to one intensity level) and dropped if even that does not help. The nudge stops
//! early when the target is the prediction with probability at least
//! [`NudgeSettings::STOP_PROBABILITY`], or when no step raises it any more (the last step's
//! probabilities say which).

use ndarray::Array2;

use crate::network::{Mlp, argmax, fill_inputs};

/// How far [`nudge`] may go.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NudgeSettings {
    /// Steps at most, 1..=[`NudgeSettings::MAX_STEPS`].
    pub steps: usize,
    /// Intensity levels (of 255) the most influential movable pixel changes by in one step,
    /// [`NudgeSettings::MIN_STEP_SIZE`]..=[`NudgeSettings::MAX_STEP_SIZE`].
    pub step_size: f32,
}

impl Default for NudgeSettings {
    fn default() -> NudgeSettings {
        NudgeSettings {
            steps: 10,
            step_size: 32.0,
        }
    }
}

impl NudgeSettings {
    pub const MAX_STEPS: usize = 50;
    pub const MIN_STEP_SIZE: f32 = 1.0;
    pub const MAX_STEP_SIZE: f32 = 255.0;
    /// The nudge stops once the target is the prediction with at least this probability.
    pub const STOP_PROBABILITY: f32 = 0.9;
    /// A step that lowers the target's probability is halved at most this many times.
    const MAX_HALVINGS: usize = 8;

    /// The settings brought within their bounds (a NaN step size becomes the default's).
    pub fn clamped(&self) -> NudgeSettings {
        let step_size = if self.step_size.is_nan() {
            NudgeSettings::default().step_size
        } else {
            self.step_size.clamp(Self::MIN_STEP_SIZE, Self::MAX_STEP_SIZE)
        };
        NudgeSettings {
            steps: self.steps.clamp(1, Self::MAX_STEPS),
            step_size,
        }
    }
}

/// One image of a nudge: the start, or the image after a step.
#[derive(Clone, Debug, PartialEq)]
pub struct NudgeStep {
    /// The image, as many values 0..=255 as the model has inputs (784 for 28x28).
    pub pixels: Vec<u8>,
    /// The model's probability for each class on `pixels`.
    pub probabilities: Vec<f32>,
    /// Pixels that differ from the start's.
    pub changed_pixels: usize,
}

impl NudgeStep {
    /// The most probable class.
    pub fn predicted(&self) -> usize {
        argmax(&self.probabilities)
    }
}

/// Why [`nudge`] refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NudgeError {
    /// The image does not have the model's input size.
    InputSize { pixels: usize, model_inputs: usize },
    /// The target is not one of the model's classes.
    Target { target: usize, classes: usize },
    /// The model has no layers.
    EmptyModel,
}

impl std::fmt::Display for NudgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NudgeError::InputSize { pixels, model_inputs } => write!(
                f,
                "the image has {pixels} pixels but the model reads {model_inputs} inputs"
            ),
            NudgeError::Target { target, classes } => write!(
                f,
                "class {target} is not one of the model's {classes} classes (0..={})",
                classes.saturating_sub(1)
            ),
            NudgeError::EmptyModel => write!(f, "the model has no layers"),
        }
    }
}

impl std::error::Error for NudgeError {}

/// Nudges `pixels` (the model's input size, values 0..=255) towards class `target`: element 0 is
/// the start, then one element per step taken (at most `settings.steps` after [`NudgeSettings::
/// clamped`]). Deterministic: the same inputs give the same steps.
pub fn nudge(
    model: &Mlp,
    pixels: &[u8],
    target: usize,
    settings: &NudgeSettings,
) -> Result<Vec<NudgeStep>, NudgeError> {
    if model.layers.is_empty() {
        return Err(NudgeError::EmptyModel);
    }
    if pixels.len() != model.inputs() {
        return Err(NudgeError::InputSize {
            pixels: pixels.len(),
            model_inputs: model.inputs(),
        });
    }
    if target >= model.classes() {
        return Err(NudgeError::Target {
            target,
            classes: model.classes(),
        });
    }
    let settings = settings.clamped();
    let start = pixels.to_vec();
    let mut current = Reading::of(model, &start, target);
    let mut steps = vec![NudgeStep {
        pixels: start.clone(),
        probabilities: current.probabilities.clone(),
        changed_pixels: 0,
    }];
    // The candidate image of a step: (pixels), reused.
    let mut candidate = vec![0u8; start.len()];
    while steps.len() <= settings.steps && !current.reached(target) {
        let mut step_size = settings.step_size;
        let mut next = None;
        for _ in 0..=NudgeSettings::MAX_HALVINGS {
            if !step_pixels(&steps[steps.len() - 1].pixels, &current.dx, step_size, &mut candidate) {
                break;
            }
            let reading = Reading::of(model, &candidate, target);
            if reading.target_probability(target) >= current.target_probability(target) {
                next = Some(reading);
                break;
            }
            if step_size <= NudgeSettings::MIN_STEP_SIZE {
                break;
            }
            step_size = (step_size * 0.5).max(NudgeSettings::MIN_STEP_SIZE);
        }
        // No step raises the target's probability (or none changes a pixel): stop here.
        let Some(reading) = next else { break };
        let changed_pixels = candidate.iter().zip(&start).filter(|(a, b)| a != b).count();
        steps.push(NudgeStep {
            pixels: candidate.clone(),
            probabilities: reading.probabilities.clone(),
            changed_pixels,
        });
        current = reading;
    }
    Ok(steps)
}

/// The model's reading of one image with the target as its label.
struct Reading {
    /// `(classes)`
    probabilities: Vec<f32>,
    /// The gradient of `−log P(target)` at the inputs (scaled to [0, 1]): `(inputs)`.
    dx: Vec<f32>,
}

impl Reading {
    fn of(model: &Mlp, pixels: &[u8], target: usize) -> Reading {
        // x: (1, inputs) scaled to [0, 1], as training and prediction scale the pixels.
        let mut x = Array2::zeros((1, pixels.len()));
        fill_inputs(&mut x.view_mut(), pixels);
        let label = u8::try_from(target).expect("checked against the model's classes");
        let mut trace = model.trace(x.view(), &[label]);
        let probabilities = trace
            .layers
            .pop()
            .map(|out| out.a.into_raw_vec_and_offset().0)
            .unwrap_or_default();
        Reading {
            probabilities,
            dx: trace.dx.into_raw_vec_and_offset().0,
        }
    }

    fn target_probability(&self, target: usize) -> f32 {
        // A NaN (a broken model) never counts as progress.
        let p = self.probabilities[target];
        if p.is_nan() { f32::NEG_INFINITY } else { p }
    }

    fn reached(&self, target: usize) -> bool {
        argmax(&self.probabilities) == target && self.probabilities[target] >= NudgeSettings::STOP_PROBABILITY
    }
}

/// Pixels whose gradient is below this share of the largest movable one stay put in a step. An
/// MLP's input gradient is dense (every pixel feeds every first-layer unit): moving them all
/// greys the whole image (about 490 of 784 pixels changed to turn a 4 into a 9, 40 fours, a
/// 784-32-10 model); at a half, about 50 change and the 4 still becomes a 9 in about 4 steps.
const STRONG_GRADIENT: f32 = 0.5;

/// One step from `pixels` down `dx` into `out`: the most influential movable pixel changes by
/// `step_size` levels, the others with a strong gradient ([`STRONG_GRADIENT`]) in proportion,
/// rounded and kept in 0..=255. False when no pixel can move (no usable gradient).
fn step_pixels(pixels: &[u8], dx: &[f32], step_size: f32, out: &mut [u8]) -> bool {
    // A pixel can move if −dx points away from the end of the range it sits at.
    let movable = |p: u8, g: f32| (g < 0.0 && p < 255) || (g > 0.0 && p > 0);
    let largest = pixels
        .iter()
        .zip(dx)
        .filter(|&(&p, &g)| g.is_finite() && movable(p, g))
        .fold(0.0f32, |m, (_, &g)| m.max(g.abs()));
    if largest <= 0.0 {
        return false;
    }
    let scale = step_size / largest;
    let mut changed = false;
    for ((o, &p), &g) in out.iter_mut().zip(pixels).zip(dx) {
        let delta = if g.is_finite() && g.abs() >= STRONG_GRADIENT * largest {
            -g * scale
        } else {
            0.0
        };
        *o = (f32::from(p) + delta).round().clamp(0.0, 255.0) as u8;
        changed |= *o != p;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Dataset, PIXELS};
    use crate::network::Init;

    fn digit_model() -> (Mlp, Dataset) {
        use crate::train::{Length, Preset, TrainConfig, TrainControl, train};
        let data = crate::embedded::sample().unwrap();
        let split = data.split(500, 0);
        let config = TrainConfig {
            hidden: vec![32],
            init: Init::He,
            optimizer: crate::train::Optimizer::Adam,
            alpha: 0.002,
            length: Length::Epochs(8),
            batch_size: 64,
            threads: 1,
            ..TrainConfig::preset(Preset::Custom)
        };
        let mut model = crate::train::init_model_for(&config, &data);
        train(&mut model, &config, &split, &TrainControl::new(), &mut |_| {});
        (model, data)
    }

    #[test]
    fn settings_are_bounded() {
        let wild = NudgeSettings {
            steps: 10_000,
            step_size: 1e9,
        };
        assert_eq!(
            wild.clamped(),
            NudgeSettings {
                steps: NudgeSettings::MAX_STEPS,
                step_size: 255.0
            }
        );
        let none = NudgeSettings {
            steps: 0,
            step_size: -3.0,
        };
        assert_eq!(none.clamped().steps, 1);
        assert_eq!(none.clamped().step_size, NudgeSettings::MIN_STEP_SIZE);
        let nan = NudgeSettings {
            steps: 3,
            step_size: f32::NAN,
        };
        assert_eq!(nan.clamped().step_size, NudgeSettings::default().step_size);
        assert_eq!(NudgeSettings::default().clamped(), NudgeSettings::default());
    }

    #[test]
    fn bad_requests_are_errors_not_panics() {
        let model = Mlp::new(&[PIXELS, 8, 10], Init::He, 1);
        let image = vec![0u8; PIXELS];
        let settings = NudgeSettings::default();
        assert_eq!(
            nudge(&model, &image, 10, &settings),
            Err(NudgeError::Target {
                target: 10,
                classes: 10
            })
        );
        assert_eq!(
            nudge(&model, &image, usize::MAX, &settings).unwrap_err().to_string(),
            format!("class {} is not one of the model's 10 classes (0..=9)", usize::MAX)
        );
        assert_eq!(
            nudge(&model, &image[..100], 3, &settings),
            Err(NudgeError::InputSize {
                pixels: 100,
                model_inputs: PIXELS
            })
        );
        assert_eq!(
            nudge(&Mlp { layers: vec![] }, &image, 0, &settings),
            Err(NudgeError::EmptyModel)
        );
    }

    #[test]
    fn other_image_sizes_and_class_counts_work() {
        // A 16x16 model with 26 classes (letters), on a blank image and on a full one.
        let model = Mlp::new(&[256, 12, 26], Init::He, 4);
        for fill in [0u8, 255] {
            let image = vec![fill; 256];
            let steps = nudge(&model, &image, 25, &NudgeSettings::default()).unwrap();
            assert!(
                steps
                    .iter()
                    .all(|s| s.pixels.len() == 256 && s.probabilities.len() == 26)
            );
            let first = steps[0].probabilities[25];
            let last = steps.last().unwrap().probabilities[25];
            assert!(last >= first, "{first} -> {last}");
        }
    }

    #[test]
    fn a_broken_model_stops_without_panicking() {
        let mut model = Mlp::new(&[PIXELS, 8, 10], Init::He, 1);
        model.layers[0].w.fill(f32::NAN);
        let steps = nudge(&model, &vec![100u8; PIXELS], 3, &NudgeSettings::default()).unwrap();
        assert_eq!(steps.len(), 1, "no step can be judged progress");
    }

    #[test]
    fn steps_are_bounded_monotone_and_deterministic() {
        let model = Mlp::new(&[PIXELS, 16, 10], Init::He, 7);
        let image: Vec<u8> = (0..PIXELS)
            .map(|i| if (i / 28 + i % 28) % 9 == 0 { 200 } else { 0 })
            .collect();
        let start = model.predict(&image)[0] as usize;
        let target = (start + 3) % 10;
        let settings = NudgeSettings {
            steps: 4,
            step_size: 8.0,
        };
        let steps = nudge(&model, &image, target, &settings).unwrap();
        assert!(steps.len() >= 2 && steps.len() <= 5, "{} steps", steps.len());
        assert_eq!(steps[0].pixels, image);
        assert_eq!(steps[0].changed_pixels, 0);
        for pair in steps.windows(2) {
            assert!(pair[1].probabilities[target] >= pair[0].probabilities[target]);
            // The largest change in one step is the step size.
            let largest = pair[0]
                .pixels
                .iter()
                .zip(&pair[1].pixels)
                .map(|(&a, &b)| a.abs_diff(b))
                .max()
                .unwrap();
            assert!((1..=8).contains(&largest), "{largest}");
        }
        for s in &steps {
            let changed = s.pixels.iter().zip(&image).filter(|(a, b)| a != b).count();
            assert_eq!(s.changed_pixels, changed);
            assert!((s.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
        assert_eq!(nudge(&model, &image, target, &settings).unwrap(), steps);
    }

    #[test]
    fn a_real_four_becomes_a_nine_within_the_default_steps() {
        let (model, data) = digit_model();
        let settings = NudgeSettings::default();
        let fours = (0..data.labels.len()).filter(|&r| data.labels[r] == 4);
        let mut tried = 0;
        for r in fours.take(20) {
            let image = &data.pixels[r * PIXELS..(r + 1) * PIXELS];
            let proba = model.predict_proba(image);
            if argmax(proba.row(0).as_slice().unwrap()) != 4 {
                continue;
            }
            tried += 1;
            let steps = nudge(&model, image, 9, &settings).unwrap();
            let last = steps.last().unwrap();
            eprintln!(
                "row {r}: P(9) {:.3} -> {:.3} in {} steps, {} pixels changed",
                steps[0].probabilities[9],
                last.probabilities[9],
                steps.len() - 1,
                last.changed_pixels
            );
            assert_eq!(last.predicted(), 9, "row {r}: {:?}", last.probabilities);
            assert!(last.probabilities[9] >= NudgeSettings::STOP_PROBABILITY);
            assert!(steps.len() - 1 <= settings.steps);
            assert!(steps.windows(2).all(|w| w[1].probabilities[9] >= w[0].probabilities[9]));
            // A few strokes, not the whole image (moving every pixel changes about 490).
            assert!(last.changed_pixels < PIXELS / 4, "{} pixels", last.changed_pixels);
        }
        assert!(tried >= 10, "only {tried} fours read right");
    }

    /// Timing on the embedded 784-512-256-10 model, the app's default: `cargo test --lib --
    /// --ignored nudge_timing --nocapture`.
    #[test]
    #[ignore]
    fn nudge_timing_on_the_embedded_model() {
        let (model, _) = crate::embedded::model().unwrap();
        let data = crate::embedded::sample().unwrap();
        let settings = NudgeSettings::default();
        for (target, label) in [(9, 4u8), (3, 8), (7, 1), (0, 6)] {
            let rows: Vec<usize> = (0..data.labels.len())
                .filter(|&r| data.labels[r] == label)
                .take(20)
                .collect();
            let start = std::time::Instant::now();
            let (mut reached, mut steps_taken, mut changed) = (0, 0, 0);
            for &r in &rows {
                let steps = nudge(&model, &data.pixels[r * PIXELS..(r + 1) * PIXELS], target, &settings).unwrap();
                let last = steps.last().unwrap();
                reached += usize::from(last.predicted() == target);
                steps_taken += steps.len() - 1;
                changed += last.changed_pixels;
            }
            let n = rows.len() as f64;
            eprintln!(
                "{label} -> {target}: {reached}/{} reached, {:.1} steps, {:.0} pixels changed, {:.1} ms per nudge",
                rows.len(),
                steps_taken as f64 / n,
                changed as f64 / n,
                start.elapsed().as_secs_f64() * 1000.0 / n
            );
        }
        let max = NudgeSettings {
            steps: NudgeSettings::MAX_STEPS,
            step_size: 1.0,
        };
        let start = std::time::Instant::now();
        let steps = nudge(
            &model,
            &data.pixels[..PIXELS],
            (usize::from(data.labels[0]) + 1) % 10,
            &max,
        )
        .unwrap();
        eprintln!(
            "50 one-level steps: {} taken in {:.1} ms",
            steps.len() - 1,
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
}
