//! The window's settings: the menu's (tab, theme) and the side panel's (training settings, the
//! path field, the class count), persisted by eframe under [`eframe::APP_KEY`].

use serde::{Deserialize, Serialize};

use crate::train::TrainConfig;

use crate::app::tabs::Tab;

/// The colours of the app: light, dark, or as the system's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ThemeChoice {
    #[default]
    System,
    Light,
    Dark,
}

impl ThemeChoice {
    /// In the order of the View menu.
    pub const ALL: [ThemeChoice; 3] = [ThemeChoice::System, ThemeChoice::Light, ThemeChoice::Dark];

    pub fn title(self) -> &'static str {
        match self {
            ThemeChoice::System => "Follow the system",
            ThemeChoice::Light => "Light",
            ThemeChoice::Dark => "Dark",
        }
    }

    pub fn preference(self) -> egui::ThemePreference {
        match self {
            ThemeChoice::System => egui::ThemePreference::System,
            ThemeChoice::Light => egui::ThemePreference::Light,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
        }
    }
}

/// The window's settings (the menu's and the side panel's) that persist across restarts (never
/// the data or the weights; each tab persists its own, see [`crate::app::tabs::Tabs`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub config: TrainConfig,
    pub tab: Tab,
    /// The path field's text.
    pub path: String,
    /// Classes of the training data: `None` takes them from the labels (warning about a rare
    /// label above 0-9); a count refuses files with labels outside `0..count` on load.
    pub class_count: Option<usize>,
    pub theme: ThemeChoice,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config: TrainConfig::default(),
            tab: Tab::Training,
            path: String::new(),
            class_count: None,
            theme: ThemeChoice::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_settings_still_load() {
        let s: Settings = serde_json::from_str(r#"{"tab":"Draw","unknown":1}"#).unwrap();
        assert_eq!(s.tab, Tab::Draw);
        assert_eq!(s.theme, ThemeChoice::System);
    }

    #[test]
    fn window_settings_round_trip() {
        let s = Settings {
            theme: ThemeChoice::Light,
            ..Settings::default()
        };
        let back: Settings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back.theme, ThemeChoice::Light);
    }

    #[test]
    fn settings_saved_with_the_old_custom_preset_still_load() {
        let s: Settings = serde_json::from_str(r#"{"config":{"preset":"custom","alpha":0.05}}"#).unwrap();
        assert_eq!(s.config.preset, crate::train::Preset::Custom);
        assert_eq!(s.config.alpha, 0.05);
    }
}
