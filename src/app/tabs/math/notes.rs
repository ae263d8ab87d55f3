//! "Where this differs from the notebook, and why", said on the tab with this trace's numbers.

use egui::RichText;

use crate::network::Trace;

use super::paint::short;

/// The differences, with the first layer's db both ways.
pub fn ui(ui: &mut egui::Ui, trace: &Trace) {
    if let Some(first) = trace.layers.first() {
        let units = first.db.len();
        let shown: Vec<String> = first.db.iter().take(4).map(|&v| short(v)).collect();
        ui.label(RichText::new("One bias gradient per unit").strong());
        ui.label(format!(
            "The notebook's db1 = 1/m·np.sum(dZ1) sums over the units too, so one number, {}, is \
             added to all {units} biases. Here each unit gets its own: db1 = [{}{}], the true \
             gradient (their sum is the notebook's number).",
            short(first.notebook_db()),
            shown.join(", "),
            if units > 4 { ", …" } else { "" }
        ));
    }
    ui.add_space(4.0);
    ui.label(RichText::new("A plain step").strong());
    ui.label(
        "This is the notebook's step: mean cross-entropy, then W − α·dW. Dropout, L2 weight \
         decay, momentum or Adam, label smoothing and augmentation are training options this \
         step leaves out, even for a model trained with them; the Training tab's runs use them.",
    );
    ui.add_space(4.0);
    ui.label(RichText::new("Rows or columns").strong());
    ui.label(
        "The network keeps one example per row (X is m×784, W1 is 784×n, Z1 = X·W1 + b1) because \
         that is how the rows sit in memory; every matrix here is shown transposed, as the \
         notebook writes it. The numbers are the ones training computes, from the same layer code.",
    );
}
