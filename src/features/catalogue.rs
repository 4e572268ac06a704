//! The feature catalogue: the one list of features (docs/features.md), each with what every later
//! stage needs to know about it.
//!
//! Everything that names features reads this table: `compute` (one formula per row, in this
//! order), the SQL of `--emit-sql` (one expression per row), the reader of precomputed tables
//! (names and categories), the clustering matrix (transform, the default clustering features),
//! drift (imputation) and the reports (box plots). The unit tests at the end check that every row
//! has a formula, an SQL expression and a documented row in docs/features.md, so a feature added
//! here and forgotten elsewhere fails `cargo test`, not a run.

use serde::{Deserialize, Serialize};

#[cfg(test)]
use crate::ingest::schema::Device;
use crate::ingest::schema::{Present, TableKind};

/// How a feature is transformed before scaling: `log1p` for money, counts and day counts
/// (right-skewed), none for shares and rates (already in [0, 1]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transform {
    Identity,
    Log1p,
}

/// The input a feature cannot be computed without. A feature whose need is missing is left out
/// of every output, with the reason ([`left_out`]). Declared in the order missing inputs are
/// reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// Carts alone (always there).
    Carts,
    /// An orders input.
    Orders,
    /// A device column in carts or engagement.
    Device,
    /// A checkout_step column in carts.
    CheckoutStep,
    /// A discount column in carts or orders.
    Discount,
    /// An engagement input.
    Engagement,
    /// An engagement input with a page column.
    EngagementPage,
}

impl Need {
    /// Why the need is not met by `present`, or `None` when it is. `EngagementPage` is reported
    /// as a missing engagement input when there is none.
    fn missing(self, present: &Present) -> Option<&'static str> {
        let has = |k: TableKind, c: &str| present.has(k, c);
        match self {
            Need::Carts => None,
            Need::Orders if !present.has_kind(TableKind::Orders) => Some("no orders input (--orders)"),
            Need::Device if !has(TableKind::Carts, "device") && !has(TableKind::Engagement, "device") => {
                Some("no device column in carts or engagement")
            }
            Need::CheckoutStep if !has(TableKind::Carts, "checkout_step") => {
                Some("no checkout_step column in carts")
            }
            Need::Discount
                if !has(TableKind::Carts, "discount_code")
                    && !has(TableKind::Orders, "discount_code")
                    && !has(TableKind::Orders, "discount_amount") =>
            {
                Some("no discount_code column in carts and no discount_code or discount_amount in orders")
            }
            Need::Engagement | Need::EngagementPage if !present.has_kind(TableKind::Engagement) => {
                Some("no engagement input (--engagement)")
            }
            Need::EngagementPage if !has(TableKind::Engagement, "page") => {
                Some("no page column in engagement")
            }
            _ => None,
        }
    }
}

/// How a feature's value is made up where the shopper's own data cannot give one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imputation {
    /// Always the shopper's own value (a count of nothing is 0); a gap only where docs/features.md
    /// says the value is undefined, filled with the median in the clustering matrix.
    None,
    /// Shoppers without orders in history get the median AOV of those with some.
    MedianAovForNonBuyers,
    /// Shoppers without orders in history get the history window's length in days.
    HistoryForNonBuyers,
}

/// One feature.
#[derive(Debug, Clone, Copy)]
pub struct Feature {
    pub name: &'static str,
    /// The values of a categorical feature; `None` for a numeric one.
    pub categories: Option<&'static [&'static str]>,
    pub transform: Transform,
    pub needs: Need,
    pub imputation: Imputation,
    /// Shown as a box plot per persona in report.html, at this place among the box plots.
    pub box_plot: Option<u8>,
    /// The words for a persona with more / less of it than another, when only this feature tells
    /// two personas apart ("Lower-Value ..."); empty for categorical features.
    pub more: &'static str,
    pub less: &'static str,
}

const fn num(
    name: &'static str,
    transform: Transform,
    needs: Need,
    (more, less): (&'static str, &'static str),
) -> Feature {
    Feature {
        name,
        categories: None,
        transform,
        needs,
        imputation: Imputation::None,
        box_plot: None,
        more,
        less,
    }
}

const fn cat(name: &'static str, categories: &'static [&'static str], needs: Need) -> Feature {
    Feature {
        categories: Some(categories),
        ..num(name, Transform::Identity, needs, ("", ""))
    }
}

const fn imputed(f: Feature, imputation: Imputation) -> Feature {
    Feature { imputation, ..f }
}

const fn boxed(place: u8, f: Feature) -> Feature {
    Feature {
        box_plot: Some(place),
        ..f
    }
}

use Need::*;
use Transform::{Identity, Log1p};

/// Device names as features write them, in `schema::Device::ALL` order (a test checks it).
pub const DEVICES: [&str; 4] = ["desktop", "mobile", "tablet", "other"];
pub const LIFECYCLE_STAGES: [&str; 4] = ["new", "active", "loyal", "lapsing"];

/// Every feature, in output order (docs/features.md). A plain data table.
pub const FEATURES: [Feature; 25] = [
    boxed(
        0,
        num(
            "last_abandoned_value",
            Log1p,
            Carts,
            ("Higher-Value", "Lower-Value"),
        ),
    ),
    num(
        "abandoned_value_total",
        Log1p,
        Carts,
        ("Higher-Stake", "Lower-Stake"),
    ),
    num(
        "abandoned_carts",
        Log1p,
        Carts,
        ("Repeat-Abandoning", "One-Cart"),
    ),
    num("orders", Log1p, Orders, ("More-Frequent", "Less-Frequent")),
    num(
        "revenue",
        Log1p,
        Orders,
        ("Higher-Revenue", "Lower-Revenue"),
    ),
    num(
        "has_ordered",
        Identity,
        Orders,
        ("Returning", "Never-Bought"),
    ),
    imputed(
        num("aov", Log1p, Orders, ("Bigger-Order", "Smaller-Order")),
        Imputation::MedianAovForNonBuyers,
    ),
    boxed(
        1,
        imputed(
            num(
                "cart_to_aov",
                Log1p,
                Orders,
                ("Above-Usual", "Within-Usual"),
            ),
            Imputation::MedianAovForNonBuyers,
        ),
    ),
    num(
        "days_since_abandon",
        Log1p,
        Carts,
        ("Earlier-Abandoned", "Recently-Abandoned"),
    ),
    imputed(
        num(
            "days_since_last_order",
            Log1p,
            Orders,
            ("Longer-Lapsed", "More-Recent"),
        ),
        Imputation::HistoryForNonBuyers,
    ),
    num("tenure_days", Log1p, Carts, ("Longer-Standing", "Newer")),
    num(
        "mobile_share",
        Identity,
        Device,
        ("More-Mobile", "More-Desktop"),
    ),
    cat("primary_device", &DEVICES, Device),
    boxed(
        3,
        num(
            "max_checkout_depth",
            Identity,
            CheckoutStep,
            ("Deeper-Checkout", "Earlier-Exit"),
        ),
    ),
    num(
        "discount_share",
        Identity,
        Discount,
        ("Discount-Prone", "Full-Price"),
    ),
    boxed(
        2,
        num(
            "sessions_30d",
            Log1p,
            Engagement,
            ("More-Engaged", "Less-Engaged"),
        ),
    ),
    num(
        "page_views_per_session",
        Log1p,
        Engagement,
        ("Deeper-Browsing", "Shallower-Browsing"),
    ),
    num(
        "product_views",
        Log1p,
        Engagement,
        ("More-Browsing", "Less-Browsing"),
    ),
    num(
        "info_page_views",
        Log1p,
        EngagementPage,
        ("More-Cautious", "Less-Cautious"),
    ),
    num(
        "cart_removals",
        Log1p,
        Engagement,
        ("More-Hesitant", "Less-Hesitant"),
    ),
    num(
        "email_open_rate",
        Identity,
        Engagement,
        ("More-Responsive", "Less-Responsive"),
    ),
    num(
        "email_clicks_90d",
        Log1p,
        Engagement,
        ("Email-Clicking", "Email-Quiet"),
    ),
    num(
        "sms_clicks_90d",
        Log1p,
        Engagement,
        ("SMS-Clicking", "SMS-Quiet"),
    ),
    cat("lifecycle_stage", &LIFECYCLE_STAGES, Orders),
    // Last, so that the columns before it keep their places (issue 20).
    num(
        "ordered_since_abandon",
        Identity,
        Orders,
        ("Came-Back", "Not-Back"),
    ),
];

/// The default clustering features, in the clustering matrix's column order (model.json keeps
/// it): value, frequency, recency, device, checkout depth, discounts and engagement. Abandonment
/// timing (`days_since_abandon`) is left out on purpose: it says when to send a message, not who
/// the shopper is.
pub const DEFAULT_FEATURES: [&str; 13] = [
    "last_abandoned_value",
    "aov",
    "orders",
    "cart_to_aov",
    "days_since_last_order",
    "mobile_share",
    "max_checkout_depth",
    "discount_share",
    "sessions_30d",
    "product_views",
    "info_page_views",
    "cart_removals",
    "email_open_rate",
];

/// The catalogue row of `name`.
pub fn get(name: &str) -> Option<&'static Feature> {
    FEATURES.iter().find(|f| f.name == name)
}

/// The names of every feature, in output order.
pub fn names() -> impl Iterator<Item = &'static str> {
    FEATURES.iter().map(|f| f.name)
}

/// Position of a feature in output order (unknown names last).
pub fn position(name: &str) -> usize {
    FEATURES
        .iter()
        .position(|f| f.name == name)
        .unwrap_or(usize::MAX)
}

/// The features shown as box plots in report.html, in their order.
pub fn box_plots() -> Vec<&'static str> {
    let mut boxed: Vec<(u8, &'static str)> = FEATURES
        .iter()
        .filter_map(|f| Some((f.box_plot?, f.name)))
        .collect();
    boxed.sort_unstable();
    boxed.into_iter().map(|(_, name)| name).collect()
}

/// The features that hold an imputed value (the median AOV) for shoppers without orders.
pub fn imputed_for_non_buyers() -> impl Iterator<Item = &'static str> {
    FEATURES
        .iter()
        .filter(|f| f.imputation == Imputation::MedianAovForNonBuyers)
        .map(|f| f.name)
}

/// The transform of a feature (`log1p` for a name outside the catalogue).
pub fn transform_of(name: &str) -> Transform {
    get(name).map_or(Transform::Log1p, |f| f.transform)
}

/// A feature left out because its source is absent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LeftOut {
    pub feature: &'static str,
    pub reason: String,
}

/// The features the inputs cannot inform, with the reason (docs/features.md, "needs"): shared by
/// `compute` and by the SQL of `features --emit-sql`, so both leave out the same ones. Grouped by
/// missing input, in catalogue order within a group; then what a preset declared unknown.
pub fn left_out(present: &Present) -> Vec<LeftOut> {
    let mut out: Vec<LeftOut> = Vec::new();
    // The needs the catalogue uses, in declaration order: the order missing inputs are reported.
    let needs: std::collections::BTreeSet<Need> = FEATURES.iter().map(|f| f.needs).collect();
    for need in needs {
        let Some(reason) = need.missing(present) else {
            continue;
        };
        for f in &FEATURES {
            let covered = f.needs == need || (need == Engagement && f.needs == EngagementPage);
            if covered && !out.iter().any(|l| l.feature == f.name) {
                out.push(LeftOut {
                    feature: f.name,
                    reason: reason.to_string(),
                });
            }
        }
    }
    for (feature, reason) in &present.unknown {
        if !out.iter().any(|l| l.feature == *feature) {
            out.push(LeftOut {
                feature,
                reason: reason.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_defaults_are_numeric_catalogue_features() {
        for (i, f) in FEATURES.iter().enumerate() {
            assert!(
                FEATURES[..i].iter().all(|g| g.name != f.name),
                "{} twice",
                f.name
            );
        }
        let devices: Vec<&str> = Device::ALL.iter().map(|d| d.name()).collect();
        assert_eq!(devices, DEVICES);
        for name in DEFAULT_FEATURES {
            let f = get(name).unwrap_or_else(|| panic!("{name} is not in the catalogue"));
            assert!(f.categories.is_none(), "{name} is categorical");
        }
    }

    /// Every catalogue feature has a formula (`compute`), an SQL expression (`sql`) and a row in
    /// docs/features.md's table: adding a feature means all three.
    #[test]
    fn every_feature_has_a_formula_an_sql_expression_and_a_documented_row() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/features.md"))
            .expect("docs/features.md");
        for f in &FEATURES {
            assert!(
                crate::features::compute::has_formula(f.name),
                "{}: no formula in features::compute",
                f.name
            );
            assert!(
                crate::features::sql::has_expression(f.name),
                "{}: no SQL expression in features::sql",
                f.name
            );
            assert!(
                doc.lines()
                    .any(|l| l.starts_with(&format!("| `{}`", f.name))),
                "{}: no row `| `{}` ...` in docs/features.md",
                f.name,
                f.name
            );
        }
    }

    #[test]
    fn left_out_groups_by_missing_input() {
        let present = Present::default();
        let out: Vec<&str> = left_out(&present).iter().map(|l| l.feature).collect();
        // No orders, no device, no steps, no discounts, no engagement: only the cart features stay.
        let kept: Vec<&str> = names().filter(|n| !out.contains(n)).collect();
        assert_eq!(
            kept,
            [
                "last_abandoned_value",
                "abandoned_value_total",
                "abandoned_carts",
                "days_since_abandon",
                "tenure_days"
            ]
        );
        assert_eq!(&out[..2], ["orders", "revenue"]);
    }
}
