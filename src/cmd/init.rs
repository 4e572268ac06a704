//! `cartsona init`: writes a commented cartsona.toml with every option, its default and its
//! meaning, set up for one kind of export.
//!
//! Lines of the form `# key = value` show a default: uncommenting one changes nothing. Lines that
//! end in `# example` show a value to adapt. Tests hold the template to both rules.

use std::fmt::Write as _;

use anyhow::Result;

use crate::cli::{InitArgs, InitPreset};
use crate::config::segment::Segment;
use crate::config::setting::shown_duration;
use crate::config::PropensitySettings;
use crate::config::{defaults, keys};
use crate::drift::compare::Thresholds;
use crate::features::compute::FeatureParams;
use crate::io::write;
use crate::model::holdout;
use crate::outcomes::readout::ReadoutSettings;

pub fn run(args: &InitArgs, quiet: bool) -> Result<u8> {
    let text = template(args.preset);
    if args.out.as_os_str() == "-" {
        print!("{text}");
        return Ok(0);
    }
    write::check_writable(&args.out, args.force, "--out")?;
    write::write_atomic(&[(args.out.clone(), text.into_bytes())])?;
    if !quiet {
        eprintln!(
            "wrote {}; edit it, then run for example: cartsona segment --config {} --out runs/first",
            args.out.display(),
            args.out.display()
        );
    }
    Ok(0)
}

/// The commented configuration for `preset`. A plain data table: the template's lines in order,
/// longer than a function should be but read as the file it writes.
pub fn template(preset: InitPreset) -> String {
    let mut s = String::new();
    let f = FeatureParams::default();
    let seg = Segment::default();
    let name = match preset {
        InitPreset::Canonical => "canonical",
        InitPreset::Rees46 => "rees46",
        InitPreset::Shopify => "shopify",
        InitPreset::Ga4 => "ga4",
        InitPreset::Segment => "segment",
    };
    let _ = writeln!(
        s,
        "# cartsona.toml, written by `cartsona init --preset {name}`.\n\
         #\n\
         # Lines like `# key = value` show the default: uncomment one to change it. Lines ending in\n\
         # `# example` show a value to adapt. Flags on the command line win over this file; relative\n\
         # paths are relative to this file's directory. Unknown keys are an error, so a typo is caught.\n\
         # Reference: docs/data-format.md, docs/presets.md, docs/features.md, docs/personas.md, docs/drift.md.\n"
    );

    s.push_str("[inputs]\n");
    match preset {
        InitPreset::Canonical => s.push_str(
            "# Canonical exports (docs/data-format.md): a path, a glob, a directory of parts, or a list.\n\
             # carts = \"exports/carts-*.csv\"             # example; required (or --carts)\n\
             # orders = \"exports/orders.parquet\"         # example; optional\n\
             # engagement = [\"exports/engagement/\"]      # example; optional\n",
        ),
        InitPreset::Rees46 => s.push_str(
            "# The REES46 / Open CDP event log: carts, orders and engagement are derived from it.\n\
             preset = \"rees46\"\n\
             # events = \"data/2019-*.csv.gz\"             # example; or --events\n",
        ),
        InitPreset::Ga4 | InitPreset::Segment => s.push_str(
            "# An event log described in [events] below: carts, orders and engagement are derived from it.\n\
             preset = \"events\"\n\
             # events = \"exports/events-*.parquet\"       # example; or --events\n\
             # engagement = \"exports/email-events.csv\"   # example; canonical engagement to add (email, SMS)\n",
        ),
        InitPreset::Shopify => s.push_str(
            "# Shopify: carts are the abandoned-checkouts export, orders the orders export.\n\
             preset = \"shopify\"\n\
             # carts = \"exports/abandoned_checkouts*.csv\" # example; or --carts\n\
             # orders = \"exports/orders_export*.csv\"      # example; or --orders\n",
        ),
    }
    s.push_str(
        "# The CSV field delimiter: one character, or \"tab\".\n\
         # delimiter = \",\"\n\
         # Rows that break the schema: \"fail\" stops at the first (exit 2); \"skip\" drops and counts them.\n\
         # on_bad_rows = \"fail\"\n\n",
    );

    if preset == InitPreset::Canonical {
        s.push_str(
            "# Header names, when an export names a canonical column otherwise (matched exactly, then\n\
             # ignoring case). One table per input: [columns.carts], [columns.orders], [columns.engagement].\n\
             # Integer timestamps (Unix epochs in a Parquet integer column, or digits in CSV) need their\n\
             # unit: s, ms, us or ns (docs/data-format.md).\n\
             # [columns]\n\
             # epochs = \"ms\"                              # example\n\
             # [columns.carts]\n\
             # customer_id = \"Customer ID\"                # example\n\
             # cart_value = \"Cart Total\"                  # example\n\n",
        );
    }

    match preset {
        InitPreset::Ga4 => s.push_str(GA4_EVENTS),
        InitPreset::Segment => s.push_str(SEGMENT_EVENTS),
        InitPreset::Shopify => s.push_str(
            "[shopify]\n\
             # Which total is the order and cart value: \"total\" (with shipping and taxes) or \"subtotal\".\n\
             # value = \"total\"\n\n",
        ),
        _ => {}
    }

    let abandon = if preset == InitPreset::Rees46 {
        "# (the public REES46 sample spans hours, not days: pass --abandon-after 10m on it)\n"
    } else {
        ""
    };
    let _ = write!(
        s,
        "[features]\n\
         # T, the as-of time (RFC 3339 or YYYY-MM-DD); default: the latest timestamp in the inputs.\n\
         # as_of = \"2025-01-31\"                       # example\n\
         # How long a cart sits without an order before it counts as abandoned.\n\
         {abandon}# abandon_after = {}\n\
         # Abandoned carts in this window before T make an abandoner.\n\
         # lookback = {}\n\
         # Window for order history and rates.\n\
         # history = {}\n\
         # Information pages in engagement `page` (a regular expression, case-insensitive).\n\
         # info_pages = {}\n\n",
        duration(f.abandon_after),
        duration(f.lookback),
        duration(f.history),
        value(defaults::info_pages(&f)),
    );

    let features: Vec<String> = seg.clustering.wanted.iter().map(value).collect();
    let p = &seg.clustering.select;
    let _ = write!(
        s,
        "[segment]\n\
         # Fewest and most personas to try (fewer are made only when no k in range is eligible).\n\
         # k_min = {}\n\
         # k_max = {}\n\
         # Exactly this many personas (skips the choice of k).\n\
         # k = 4                                      # example\n\
         # A k is eligible when every persona holds at least this share of abandoners or of the\n\
         # value at stake ...\n\
         # min_persona_share = {}\n\
         # ... and at least this many shoppers (default: max(3, min(20, 0.5% of abandoners))).\n\
         # min_persona_size = 20                      # example\n\
         # Bootstrap refits that measure each persona's stability (0 turns it off).\n\
         # stability_resamples = {}\n\
         # Seed for k-means and sampling; the same seed gives byte-identical runs.\n\
         # seed = {}\n\
         # k-means restarts per k; the lowest inertia wins.\n\
         # restarts = {}\n\
         # Features to cluster on (docs/personas.md).\n\
         # cluster_features = [{}]\n\
         # With --baseline: the largest centroid distance, in baseline standard deviations, at which a\n\
         # persona keeps a baseline persona's id and name.\n\
         # max_match_distance = {}\n\
         # Above this many abandoners k-means runs on mini-batches of 4,096 rows, then polishes with\n\
         # at most 10 full passes (docs/scale.md).\n\
         # minibatch_above = {}\n\n",
        value(p.k_min),
        value(p.k_max),
        value(p.min_share),
        value(seg.stability_resamples),
        value(p.seed),
        value(p.restarts),
        features.join(", "),
        value(seg.max_match_distance),
        value(p.minibatch_above),
    );

    s.push_str(&holdout_and_outcomes());

    s.push_str(
        "[sql]\n\
         # Tables the SQL of `cartsona features --emit-sql` reads (docs/scale.md), written into the\n\
         # query as given (like \"shop.carts\"); their columns are named as in [columns.*].\n\
         # carts = \"carts\"\n\
         # orders = \"orders\"\n\
         # engagement = \"engagement\"\n\
         # The features table the query of `cartsona assign --emit-sql` reads.\n\
         # features = \"features\"\n\
         # Tables (orders, engagement) or optional columns (carts.checkout_step) the warehouse does not\n\
         # have: the features that need them are left out.\n\
         # absent = [\"engagement.page\"]                # example\n\n",
    );
    s.push_str("[drift]\n# Thresholds of `cartsona drift` (docs/drift.md).\n");
    let defaults = toml::Table::try_from(Thresholds::default()).expect("thresholds serialise");
    for (key, meaning) in keys::drift::ALL {
        let key = key.key;
        let value = defaults
            .get(key)
            .expect("every drift key names a threshold");
        let _ = write!(s, "# {meaning}.\n# {key} = {value}\n");
    }
    s
}

/// The [holdout], [variants], [propensity], [outcomes] and [columns.touches]/[columns.entries] sections
/// of the template.
fn holdout_and_outcomes() -> String {
    let p = PropensitySettings::default();
    let o = ReadoutSettings::default();
    format!(
        "[holdout]\n\
# Share of abandoners held out of recovery messages (0 to 0.5), to measure what the\n\
# messages add (docs/outcomes.md). Runs with --baseline and assign inherit the holdout\n\
# of their model; set share = 0 to end it.\n\
# share = 0.1                                # example\n\
# The hash salt: the same salt keeps every shopper in their arm month after month.\n\
# salt = {}\n\n\
[variants]\n\
# Variants inside the treatment arm (docs/outcomes.md \"Variants\"): a `reminder` gets the\n\
# play with no incentive, any other variant the persona's offer; inherited like the holdout;\n\
# \"none\" ends them.\n\
# split = \"reminder=0.5,incentive=0.5\"     # example\n\
# The variants' own hash salt (not the holdout's).\n\
# salt = {}\n\n\
[propensity]\n\
# The return propensity of segment runs (docs/propensity.md): the chance that an abandoner\n\
# orders within `window` after T, learned from past weekly as-of points; flags win.\n\
# enabled = true\n\
# window = {}\n\
# How far back the weekly as-of points go (at least three windows).\n\
# history = {}\n\
# The L2 penalty as scikit-learn's C (smaller: stronger).\n\
# c = {}\n\
# Shoppers above this untreated propensity get their play with no incentive in audience.csv.\n\
# no_discount_above = {}\n\
# Apply that rule with an as-usual propensity too (not causal: see docs/propensity.md).\n\
# force_no_discount = {}\n\n\
[outcomes]\n\
# The readout of `cartsona outcomes` (docs/outcomes.md); flags win.\n\
# An order in (T, T + window] recovers a listed shopper.\n\
# window = {}\n\
# Attributed revenue counts orders this long after a touch, as a messaging platform would.\n\
# attribution_window = {}\n\
# Recorded in outcomes.json; since issue 31 no figure depends on it (Welch's interval).\n\
# seed = {}\n\
# The planned holdout share, for the sample-ratio gate when the runs carry no holdout.\n\
# expected_holdout = 0.2                     # example\n\
# Gates: fail when more than this share of the holdout was messaged in its window, and when\n\
# more than this share of listed shoppers was messaged before their run listed them.\n\
# max_contamination = {}\n\
# max_pre_run = {}\n\
# The cost of one incentive that is not a discount (a gift, free shipping), taken off the net\n\
# revenue of each recovered shopper of a variant other than reminder.\n\
# incentive_cost = 5.0                       # example\n\
# How far the orders export reaches, when it is complete beyond its last order.\n\
# orders_until = \"2025-02-08T00:00:00Z\"   # example\n\n\
[orders]\n\
# Whether order_value is before discounts (\"gross\") or after them (\"net\", as Shopify's\n\
# Total): the readout's net revenue takes discount_amount off gross values only.\n\
# value_is = \"gross\"\n\n\
# A messaging platform's exports: canonical column = the export's header (docs/outcomes.md\n\
# has Klaviyo, Braze and Infobip). Touches: customer_id, sent_at, channel (required), flow,\n\
# step, variant, opened_at, clicked_at, discount_code, cost. Entries: customer_id, arm\n\
# (required), variant, entered_at.\n\
# [columns.touches]\n\
# customer_id = \"person_email\"             # example (Klaviyo)\n\
# sent_at = \"occurred_at\"                  # example\n\
# channel = \"type\"                         # example\n\
# [columns.entries]\n\
# customer_id = \"external_user_id\"         # example (Braze)\n\
# arm = \"in_control_group\"                 # example\n\n",
        value(holdout::DEFAULT_SALT),
        value(crate::model::variants::DEFAULT_SALT),
        duration(p.window),
        duration(p.history),
        value(p.c),
        value(p.no_discount_above),
        value(p.force_no_discount),
        duration(o.window),
        duration(o.attribution_window),
        value(o.seed),
        value(o.max_contamination),
        value(o.max_pre_run),
    )
}

/// A default as TOML writes it (`1.0`, `"cartsona"`).
fn value<T: serde::Serialize>(v: T) -> String {
    toml::Value::try_from(v)
        .expect("a default is a TOML value")
        .to_string()
}

/// A duration default as TOML text (`"24h"`, `"26w"`).
fn duration(micros: i64) -> String {
    value(shown_duration(micros))
}

const GA4_EVENTS: &str = r#"# GA4 exported from BigQuery and flattened to one row per event (or per item).
[events]
# The shopper: the first non-empty of these columns.
customer = ["user_id", "user_pseudo_id"]
time = "event_timestamp"
# How `time` is written: "text" (RFC 3339, 'YYYY-MM-DD HH:MM:SS UTC', ...), "s", "ms" or "us" since the epoch.
time_unit = "us"
event = "event_name"
# Session id (per shopper); events without one are split into sessions by session_gap.
session = "ga_session_id"
# Optional columns: device category, page, value, quantity, order id, coupon, cart id.
device = "device.category"
page = "page_location"
value = "value"
order = "transaction_id"
discount = "coupon"
# cart = "cart_id"                             # example
# quantity = "quantity"                        # example
# A silence longer than this ends a session (only for events without a session id).
# session_gap = "30m"
# How purchase rows of one order add up: "sum" (one row per item) or "max" (each row has the total).
purchase_value = "max"

[events.names]
# Which event names mean what; names match ignoring case.
add_to_cart = ["add_to_cart"]
remove_from_cart = ["remove_from_cart"]
# Checkout steps: the furthest one reached is the cart's checkout_step.
shipping = ["begin_checkout", "add_shipping_info"]
payment = ["add_payment_info"]
# review = []
purchase = ["purchase"]
page_view = ["page_view"]
product_view = ["view_item"]
# GA4 does not see e-mail or SMS: add those as canonical --engagement, or map them here.
# email_sent = []
# email_open = []
# email_click = []
# sms_sent = []
# sms_click = []
# push_open = []

"#;

const SEGMENT_EVENTS: &str = r#"# Segment (or Snowplow, RudderStack) tracks exported from the warehouse, one row per event.
[events]
# The shopper: the first non-empty of these columns.
customer = ["user_id", "anonymous_id"]
time = "timestamp"
# How `time` is written: "text" (RFC 3339, 'YYYY-MM-DD HH:MM:SS UTC', ...), "s", "ms" or "us" since the epoch.
# time_unit = "text"
event = "event"
# Segment has no session id: events are split into sessions by session_gap.
# session = "session_id"                       # example
device = "context_device_type"
page = "context_page_path"
value = "properties_price"
quantity = "properties_quantity"
order = "properties_order_id"
cart = "properties_cart_id"
discount = "properties_coupon"
# A silence longer than this ends a session.
# session_gap = "30m"
# How purchase rows of one order add up: "sum" (one row per item) or "max" (each row has the total).
purchase_value = "max"

[events.names]
# Segment's e-commerce spec names; names match ignoring case.
add_to_cart = ["Product Added"]
remove_from_cart = ["Product Removed"]
shipping = ["Checkout Started", "Checkout Step Viewed", "Checkout Step Completed"]
payment = ["Payment Info Entered"]
# review = []
purchase = ["Order Completed"]
page_view = ["Page Viewed"]
product_view = ["Product Viewed"]
email_sent = ["Email Delivered"]
email_open = ["Email Opened"]
email_click = ["Email Link Clicked"]
sms_sent = ["SMS Delivered"]
sms_click = ["SMS Link Clicked"]
push_open = ["Push Notification Tapped"]

"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drift_threshold_has_a_meaning() {
        let defaults = toml::Table::try_from(Thresholds::default()).unwrap();
        let mut keys: Vec<&str> = defaults.keys().map(String::as_str).collect();
        let mut meant: Vec<&str> = keys::drift::ALL.iter().map(|(k, _)| k.key).collect();
        keys.sort_unstable();
        meant.sort_unstable();
        assert_eq!(keys, meant);
    }
}
