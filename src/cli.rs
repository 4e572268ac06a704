//! The command line, parsed once by clap. Nothing below `cmd` sees these structs: each command
//! turns them into checked settings (`crate::config`) first.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cartsona",
    version,
    about = "Turn exported cart, order and engagement data into cart-abandoner personas",
    long_about = "Turn exported cart, order and engagement data into cart-abandoner personas.\n\n\
Exit codes: 0 success; 1 a check failed (validate found problems); 2 cannot run (bad usage, \
unreadable or invalid input).",
    after_help = "Examples:\n  cartsona validate --carts sample-data/carts.csv --orders sample-data/orders.csv\n  \
cartsona features --carts sample-data/carts.csv --orders sample-data/orders.csv \\\n      \
--engagement sample-data/engagement.csv --out features.csv"
)]
pub struct Cli {
    /// Settings file; flags override it. Default: ./cartsona.toml when it exists.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Print nothing but errors (for cron).
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

// One value per process, parsed once: the size of its largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every input file against the canonical schema and list the problems.
    ///
    /// Exit 0 when clean, 1 when problems were found, 2 when it cannot run (missing file,
    /// missing required column, bad flag).
    #[command(
        after_help = "Example:\n  cartsona validate --carts 'exports/carts-*.csv' --orders exports/orders.parquet --json"
    )]
    Validate(ValidateArgs),
    /// The main job: read, validate, find abandoners, cluster them into 3-6 named personas, and
    /// write assignments, personas, the model and reports into a run directory.
    #[command(
        after_help = "Examples:\n  cartsona segment --carts sample-data/carts.csv --orders sample-data/orders.csv \\\n      \
--engagement sample-data/engagement.csv --out runs/2025-01\n  \
cartsona segment --config cartsona.toml --out runs/2025-02 --quiet    # from cron"
    )]
    Segment(SegmentArgs),
    /// Apply a saved model to new data without refitting: same files as segment.
    #[command(
        after_help = "Example:\n  cartsona assign --model runs/2025-01/model.json --carts exports/carts-2025-02.csv \\\n      \
--orders exports/orders.csv --out runs/2025-02-assigned"
    )]
    Assign(AssignArgs),
    /// Compare two runs and fail (exit 1) when personas drifted past the thresholds (for CI).
    #[command(
        after_help = "Example:\n  cartsona drift --baseline runs/2025-01 --current runs/2025-02 --out drift/2025-02\n\n\
Writes drift.json, drift.md and junit.xml. Exit 0 within thresholds (warnings allowed), 1 when a \
fail threshold is crossed, 2 when the runs cannot be compared."
    )]
    Drift(DriftArgs),
    /// Read out whether each persona's play recovered carts that would not have come back
    /// anyway: treatment against holdout, per persona, with intervals and gates (for CI).
    #[command(
        after_help = "Example:\n  cartsona outcomes --run runs/2025-01 --orders exports/orders-feb.csv \\\n      \
--touches exports/klaviyo-messages.csv --out outcomes/2025-01\n\n\
Writes outcomes.json, outcomes.md, outcomes.html and junit.xml. Exit 0 when every gate passes, 1 \
when one fails (sample ratio, contamination, messaged before the run, a losing persona), 2 when \
it cannot read out (no holdout, orders that stop before a window ends, a bad input)."
    )]
    Outcomes(OutcomesArgs),
    /// Find the abandoners and write one row of features per abandoner (CSV or Parquet).
    #[command(
        after_help = "Example:\n  cartsona features --carts carts.csv --orders orders.csv --engagement events.csv \\\n      \
--as-of 2025-01-31 --out features.csv"
    )]
    Features(FeaturesArgs),
    /// Write a commented cartsona.toml with every option, its default and its meaning.
    #[command(
        after_help = "Examples:\n  cartsona init                      # canonical exports\n  \
cartsona init --preset ga4 --out ga4.toml\n  cartsona init --preset shopify --out - | less"
    )]
    Init(InitArgs),
    /// Write the canonical carts, orders and engagement a preset derives from exports (to inspect
    /// them, or to feed other tools).
    #[command(
        after_help = "Example:\n  cartsona convert --preset rees46 --events 2019-Oct.csv.gz --out canonical/2019-10"
    )]
    Convert(ConvertArgs),
    /// Write realistic seeded carts, orders and engagement with planted archetypes (and the truth).
    #[command(
        after_help = "Examples:\n  cartsona generate --shoppers 2000 --seed 7 --out sample-data\n  \
cartsona generate --shoppers 20000 --seed 1 --months 3 --mix-month 3:deal-seeker=0.35 --out months"
    )]
    Generate(GenerateArgs),
    /// Print the completion script of a shell (bash, zsh, fish, powershell, elvish).
    #[command(
        after_help = "Examples:\n  cartsona completions bash > ~/.local/share/bash-completion/completions/cartsona\n  \
cartsona completions zsh > \"${fpath[1]}/_cartsona\""
    )]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), with a section per subcommand.
    #[command(after_help = "Example:\n  cartsona man | man -l -")]
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Export shapes cartsona can read besides the canonical one (docs/presets.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresetName {
    /// The REES46 / Open CDP e-commerce event log, given with --events.
    Rees46,
    /// An event log (GA4, Segment, Snowplow, ...) described in cartsona.toml [events], given with --events.
    Events,
    /// Shopify's abandoned-checkouts export (--carts) and orders export (--orders).
    Shopify,
}

/// Where the inputs are and how to read them (shared by every command that reads exports).
#[derive(Debug, Args, Clone, Default)]
pub struct InputArgs {
    /// Cart snapshots (required without an event-log preset): paths, directories or globs; .csv,
    /// .csv.gz or .parquet. With --preset shopify: the abandoned-checkouts export.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub carts: Vec<PathBuf>,
    /// Orders (optional): paths, directories or globs. With --preset shopify: the orders export.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub orders: Vec<PathBuf>,
    /// Engagement events (optional): paths, directories or globs.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub engagement: Vec<PathBuf>,
    /// Read exports of a known shape and derive the canonical tables from them (docs/presets.md).
    #[arg(long, value_enum, value_name = "PRESET")]
    pub preset: Option<PresetName>,
    /// The event log for --preset rees46 or events: paths, directories or globs.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub events: Vec<PathBuf>,
    /// CSV field delimiter: one character, or `tab`
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// What to do with rows that break the schema: stop (exit 2) or drop and count them
    #[arg(long, value_enum, value_name = "MODE")]
    pub on_bad_rows: Option<OnBadRows>,
}

impl InputArgs {
    /// No input flag was given (files, an event log or a preset).
    pub fn is_empty(&self) -> bool {
        self.carts.is_empty()
            && self.orders.is_empty()
            && self.engagement.is_empty()
            && self.events.is_empty()
            && self.preset.is_none()
    }
}

/// The as-of time and the windows that define abandonment and the features.
#[derive(Debug, Args, Clone, Default)]
pub struct FeatureArgs {
    /// T, the as-of time (RFC 3339 or YYYY-MM-DD); rows after it are ignored [default: latest timestamp in the inputs]
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// How long a cart sits without an order before it counts as abandoned, like 90m, 24h
    #[arg(long, value_name = "DURATION")]
    pub abandon_after: Option<String>,
    /// Abandoned carts in this window before T make an abandoner
    #[arg(long, value_name = "DURATION")]
    pub lookback: Option<String>,
    /// Window for order history and rates
    #[arg(long, value_name = "DURATION")]
    pub history: Option<String>,
    /// Regular expression for information pages in engagement `page` (case-insensitive)
    #[arg(long, value_name = "REGEX")]
    pub info_pages: Option<String>,
}

/// How abandoners are clustered into personas.
#[derive(Debug, Args, Clone, Default)]
pub struct ClusterArgs {
    /// Fewest personas to try
    #[arg(long, value_name = "N")]
    pub k_min: Option<usize>,
    /// Most personas to try
    #[arg(long, value_name = "N")]
    pub k_max: Option<usize>,
    /// Exactly this many personas (skips the choice of k).
    #[arg(long, value_name = "N")]
    pub k: Option<usize>,
    /// A persona must hold at least this share of abandoners or of the value at stake for its k
    /// to be eligible
    #[arg(long, value_name = "SHARE")]
    pub min_persona_share: Option<f64>,
    /// A persona must have at least this many shoppers for its k to be eligible
    /// [default: max(3, min(20, 0.5% of abandoners))]
    #[arg(long, value_name = "N")]
    pub min_persona_size: Option<usize>,
    /// Bootstrap refits that measure each persona's stability; 0 turns it off
    #[arg(long, value_name = "B")]
    pub stability_resamples: Option<usize>,
    /// Random seed for k-means and sampling; recorded in the model
    #[arg(long)]
    pub seed: Option<u64>,
    /// k-means restarts per k; the lowest inertia wins
    #[arg(long, value_name = "N")]
    pub restarts: Option<usize>,
    /// Above this many abandoners k-means runs on mini-batches, then polishes with full passes
    /// (docs/scale.md)
    #[arg(long, value_name = "N")]
    pub minibatch_above: Option<usize>,
    /// Features to cluster on, comma-separated [default: see docs/personas.md]
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub cluster_features: Option<Vec<String>>,
}

/// The inputs of `segment` and `assign`: exports, or a precomputed features table.
#[derive(Debug, Args)]
pub struct RunInputArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// A precomputed features table instead of --carts/--orders/--engagement: CSV, Parquet, or a
    /// directory of parts as Spark writes them, with the columns of `cartsona features`
    /// (docs/scale.md). Needs --as-of, the time the features were computed for.
    #[arg(long = "features", num_args = 1.., value_name = "PATH")]
    pub features_table: Vec<PathBuf>,
}

/// The holdout of a `segment` or `assign` run (docs/outcomes.md).
#[derive(Debug, Args, Clone, Default)]
pub struct HoldoutArgs {
    /// Share of abandoners held out of recovery messages (0 to 0.5), to measure what the
    /// messages add with `cartsona outcomes`; 0 ends a holdout inherited from --baseline or
    /// --model [default: the inherited holdout, else none]
    #[arg(long, value_name = "SHARE")]
    pub holdout: Option<f64>,
    /// Salt of the holdout hash: the same salt keeps every shopper in their arm month after
    /// month; another gives an independent split [default: the inherited salt, else cartsona]
    #[arg(long, value_name = "TEXT")]
    pub holdout_salt: Option<String>,
    /// Variants inside the treatment arm, e.g. reminder=0.5,incentive=0.5: a `reminder` gets the
    /// play with no incentive, any other variant the persona's offer; `none` ends inherited
    /// variants (docs/outcomes.md "Variants") [default: the inherited variants, else none]
    #[arg(long, value_name = "NAME=SHARE,...")]
    pub variants: Option<String>,
    /// Salt of the variants' hash (not the holdout's) [default: the inherited salt, else
    /// cartsona-variants]
    #[arg(long, value_name = "TEXT")]
    pub variant_salt: Option<String>,
}

/// The return propensity of `segment` (docs/propensity.md).
#[derive(Debug, Args)]
pub struct PropensityArgs {
    /// Do not learn or score the return propensity.
    #[arg(long)]
    pub no_propensity: bool,
    /// W: the propensity is the chance of an order within this long after the as-of time
    #[arg(long, value_name = "DURATION")]
    pub propensity_window: Option<String>,
    /// How far back the past as-of points go, one every W
    #[arg(long, value_name = "DURATION")]
    pub propensity_history: Option<String>,
    /// The L2 penalty as scikit-learn's C (smaller: stronger)
    #[arg(long, value_name = "C")]
    pub propensity_c: Option<f64>,
    /// Shoppers whose untreated propensity is above this get their play without an incentive
    #[arg(long, value_name = "P")]
    pub no_discount_above: Option<f64>,
    /// Apply the no-discount rule with an as-usual propensity too (it is on only for an untreated
    /// one by default: an as-usual propensity may be high because the messages work)
    #[arg(long)]
    pub force_no_discount: bool,
}

/// Where and how `segment` and `assign` write their run directory.
#[derive(Debug, Args)]
pub struct RunOutArgs {
    /// Run directory to write (atomically); refused if it exists and is not empty, unless --force.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace the run directory if it exists.
    #[arg(long)]
    pub force: bool,
    /// Format of the assignments file.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: OutFormat,
    /// Add each stage's wall time to summary.json (for benchmarks; the run is then no longer
    /// byte-identical to a rerun).
    #[arg(long)]
    pub timings: bool,
    /// A previous readout (the directory `cartsona outcomes` wrote): each persona card and
    /// personas.csv show the last measured effect of its play, matched by persona id.
    #[arg(long, value_name = "DIR")]
    pub outcomes: Option<PathBuf>,
    /// With --outcomes: keep each play's incentive even where the readout found that a plain
    /// reminder does as well for less (by default the offer becomes a plain reminder, saying why)
    #[arg(long)]
    pub keep_offers: bool,
    /// With --outcomes of a readout whose per-shopper uplift gate passed: which treated shoppers
    /// audience.csv lists, ordered by uplift: all (the default, in file order), positive,
    /// top:N% or budget:N. The cut shoppers stay in the treatment arm (the next readout
    /// measures the targeted plays against the holdout); the holdout is never touched
    #[arg(
        long,
        value_name = "all|positive|top:N%|budget:N",
        default_value = "all"
    )]
    pub target: String,
    /// Target by uplift even when the readout's gate found no evidence for it (warned)
    #[arg(long)]
    pub force_target: bool,
}

#[derive(Debug, Args)]
pub struct SegmentArgs {
    #[command(flatten)]
    pub inputs: RunInputArgs,
    #[command(flatten)]
    pub features: FeatureArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub output: RunOutArgs,
    #[command(flatten)]
    pub holdout: HoldoutArgs,
    #[command(flatten)]
    pub propensity: PropensityArgs,
    /// An earlier run's model.json (or its run directory): personas that match keep their ids and names.
    #[arg(long, value_name = "MODEL")]
    pub baseline: Option<PathBuf>,
    /// Largest centroid distance, in baseline standard deviations, at which a persona keeps a
    /// baseline persona's id
    #[arg(long, value_name = "SD")]
    pub max_match_distance: Option<f64>,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The earlier run directory.
    #[arg(long, value_name = "RUN")]
    pub baseline: PathBuf,
    /// The later run directory (segmented with --baseline, or assigned with the baseline's model).
    #[arg(long, value_name = "RUN")]
    pub current: PathBuf,
    /// Directory for drift.json, drift.md and junit.xml (written atomically).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace DIR if it exists.
    #[arg(long)]
    pub force: bool,
    /// Compare runs clustered on different features (on their common features).
    #[arg(long)]
    pub allow_feature_change: bool,
    // The thresholds' help comes from `config::keys::drift` (one text for --help and `init`).
    #[arg(long, value_name = "X")]
    pub share_psi_warn: Option<f64>,
    #[arg(long, value_name = "X")]
    pub share_psi_fail: Option<f64>,
    #[arg(long, value_name = "X")]
    pub share_change_warn: Option<f64>,
    #[arg(long, value_name = "X")]
    pub share_change_fail: Option<f64>,
    #[arg(long, value_name = "SD")]
    pub centroid_shift_warn: Option<f64>,
    #[arg(long, value_name = "SD")]
    pub centroid_shift_fail: Option<f64>,
    #[arg(long, value_name = "X")]
    pub feature_psi_warn: Option<f64>,
    #[arg(long, value_name = "X")]
    pub feature_psi_fail: Option<f64>,
    #[arg(long, value_name = "X")]
    pub ks_warn: Option<f64>,
    #[arg(long, value_name = "X")]
    pub stayed_warn: Option<f64>,
    #[arg(long, value_name = "X")]
    pub stayed_fail: Option<f64>,
}

#[derive(Debug, Args)]
pub struct OutcomesArgs {
    /// Run directories of segment or assign (the audiences): a shopper counts once, from the
    /// earliest run listing them, and in the randomized tables only at their first listing since
    /// the holdout split began.
    #[arg(long, required = true, num_args = 1.., value_name = "DIR")]
    pub run: Vec<PathBuf>,
    /// The runs given are every run since their holdout split began: a shopper first listed by
    /// one of them is known to be first listed there, even where a run does not carry first
    /// listings (written before cartsona kept them, or a broken --baseline chain). Refused when
    /// the earliest run given did not begin its split.
    #[arg(long)]
    pub every_run: bool,
    /// Orders after the runs: the canonical orders schema (paths, directories or globs). With
    /// --preset rees46 or events, pass the log as --events instead.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub orders: Vec<PathBuf>,
    /// An event log the orders are derived from (with --preset rees46 or events).
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub events: Vec<PathBuf>,
    /// Read the orders through a preset (docs/presets.md).
    #[arg(long, value_enum, value_name = "PRESET")]
    pub preset: Option<PresetName>,
    /// Messages sent: customer_id, sent_at, channel (+ optional columns); [columns.touches] maps
    /// a platform's export.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub touches: Vec<PathBuf>,
    /// The flow's entries: customer_id, arm (+ optional variant, entered_at); the arms then come
    /// from here. [columns.entries] maps a platform's export.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub entries: Vec<PathBuf>,
    /// Outcome window after each run's T: an order in (T, T + window] recovers the shopper
    #[arg(long, value_name = "DURATION")]
    pub window: Option<String>,
    /// Attributed revenue counts orders this long after a touch, as a platform would
    #[arg(long, value_name = "DURATION")]
    pub attribution_window: Option<String>,
    /// Seed of the bootstrap interval of the incremental revenue
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// The planned holdout share, for the sample-ratio gate when the runs have no holdout (entries
    /// from a platform's own split) [default: the runs' share]
    #[arg(long, value_name = "SHARE")]
    pub expected_holdout: Option<f64>,
    /// Contamination gate: fail when more than this share of the holdout was messaged
    #[arg(long, value_name = "SHARE")]
    pub max_contamination: Option<f64>,
    /// Fail when more than this share of listed shoppers was messaged before their run
    #[arg(long, value_name = "SHARE")]
    pub max_pre_run: Option<f64>,
    /// Read out even when the orders stop before some window ends (every output says so).
    #[arg(long)]
    pub allow_partial: bool,
    /// How far the orders export reaches (it is complete up to this time), when its last order
    /// falls earlier: the partial-window rule then uses it [default: [outcomes] orders_until,
    /// else the latest order in the files]
    #[arg(long, value_name = "TIME")]
    pub orders_until: Option<String>,
    /// Without any holdout: report rates and attributed revenue only.
    #[arg(long)]
    pub no_holdout: bool,
    /// The cost of one incentive that is not a discount (a gift, free shipping), taken off the
    /// net revenue of each recovered shopper of a variant other than `reminder` [default:
    /// [outcomes] incentive_cost, else 0]
    #[arg(long, value_name = "AMOUNT")]
    pub incentive_cost: Option<f64>,
    /// Do not learn and test the per-shopper uplift (outcomes.json then has no `uplift`)
    #[arg(long)]
    pub no_uplift: bool,
    /// Also write uplift_scores.csv: each tested shopper's out-of-sample uplift, arm,
    /// P(treated), recovery and net revenue, highest uplift first (to audit the Qini curve and
    /// the policies)
    #[arg(long, conflicts_with = "no_uplift")]
    pub uplift_scores: bool,
    /// Whether order_value is before discounts (gross) or after them (net, as Shopify's Total):
    /// the net revenue takes discount_amount off gross values only [default: [orders] value_is,
    /// else gross]
    #[arg(long, value_enum, value_name = "KIND")]
    pub order_value_is: Option<ValueIs>,
    /// CSV field delimiter of the orders, touches and entries: one character, or `tab`
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// What to do with order rows that break the schema
    #[arg(long, value_enum, value_name = "MODE")]
    pub on_bad_rows: Option<OnBadRows>,
    /// Directory for outcomes.json, outcomes.md, outcomes.html and junit.xml (written atomically).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace DIR if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct AssignArgs {
    /// An earlier run: its directory or its model.json.
    #[arg(long, value_name = "RUN")]
    pub model: PathBuf,
    #[command(flatten)]
    pub inputs: RunInputArgs,
    /// T for the new data [default: latest timestamp in the inputs]; the windows come from the model.
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub output: RunOutArgs,
    #[command(flatten)]
    pub holdout: HoldoutArgs,
    /// Write the model as one SQL query that assigns the rows of a features table (the output of
    /// `features --emit-sql`; `[sql] features`, default `features`) instead of reading data;
    /// --out is then the query's file (`-`: standard output).
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub emit_sql: Option<SqlDialect>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Print the report as JSON on stdout (for programs).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub features: FeatureArgs,
    /// Output file: .csv or .parquet; a summary goes beside it as <name>.summary.json. With
    /// --emit-sql: the file for the query [default: standard output].
    #[arg(long, value_name = "FILE", required_unless_present = "emit_sql")]
    pub out: Option<PathBuf>,
    /// Overwrite the output files if they exist.
    #[arg(long)]
    pub force: bool,
    /// Print SQL that computes this features table in a warehouse instead (needs --as-of; tables
    /// from [sql] in cartsona.toml; --carts/--orders/--engagement, if given, are read for their
    /// headers only, to leave out what they lack; docs/scale.md).
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub emit_sql: Option<SqlDialect>,
    /// With --emit-sql: take the windows and the information-page pattern from this model (a run
    /// directory or its model.json), so the query matches `assign --emit-sql` of the same model.
    #[arg(long, value_name = "MODEL", requires = "emit_sql")]
    pub model: Option<PathBuf>,
}

/// The kinds of export `cartsona init` writes a configuration for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InitPreset {
    /// Files in cartsona's canonical schema (docs/data-format.md).
    Canonical,
    /// The REES46 / Open CDP event log.
    Rees46,
    /// Shopify's abandoned-checkouts and orders exports.
    Shopify,
    /// A GA4 event export (preset "events" with GA4's names).
    Ga4,
    /// A Segment / Snowplow track export (preset "events" with Segment's e-commerce names).
    Segment,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The kind of export to set up for.
    #[arg(long, value_enum, default_value = "canonical")]
    pub preset: InitPreset,
    /// Where to write; `-` prints it.
    #[arg(long, value_name = "FILE", default_value = "cartsona.toml")]
    pub out: PathBuf,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Directory for carts.csv, orders.csv, engagement.csv and convert.json (written atomically;
    /// refused if it exists and is not empty, unless --force).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace DIR if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// How many shoppers.
    #[arg(long, value_name = "N")]
    pub shoppers: usize,
    /// Random seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory (written atomically; refused if it exists and is not empty, unless --force).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// File format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: OutFormat,
    /// First day of the first month (YYYY-MM-DD).
    #[arg(long, default_value = "2025-01-01", value_name = "DATE")]
    pub start: String,
    /// Consecutive months of the same shoppers; month m goes to DIR/month-m/.
    #[arg(long, default_value_t = 1, value_name = "M")]
    pub months: usize,
    /// Archetype shares, like deal-seeker=0.3,buyer=0.2 (the others rescale to fill the rest).
    /// Archetypes: first-time-anxious, high-value-loyal, deal-seeker, indecisive-browser,
    /// mobile-impulse, buyer.
    #[arg(long, value_name = "SHARES")]
    pub mix: Option<String>,
    /// A mix change from month M on, like 3:deal-seeker=0.35 (repeatable).
    #[arg(long, value_name = "M:SHARES")]
    pub mix_month: Vec<String>,
    /// Simulate a recovery experiment after the last month: this share of abandoners held out
    /// (by the holdout rule), the rest messaged; writes DIR/next/ (orders, touches, truth).
    #[arg(long, value_name = "SHARE")]
    pub holdout: Option<f64>,
    /// Salt of the experiment's holdout [default: cartsona]
    #[arg(long, value_name = "TEXT", requires = "holdout")]
    pub holdout_salt: Option<String>,
    /// Uplift of the plays per archetype, like deal-seeker=0.1,mobile-impulse=0 (defaults in
    /// docs/generator.md; needs --holdout).
    #[arg(long, value_name = "UPLIFTS", requires = "holdout")]
    pub uplift: Option<String>,
    /// Effects that vary inside archetypes: each shopper's effects are their archetype's times
    /// 1 + H z, z their last abandoned cart's value against the archetype's median in spreads
    /// (clipped to +-2; docs/generator.md); truth.csv gives each shopper's. Between -2 and 2.
    #[arg(long, value_name = "H", requires = "holdout", conflicts_with_all = ["returns", "carryover"])]
    pub uplift_varies: Option<f64>,
    /// Split the experiment's treatment arm into variants by the variant rule, like
    /// reminder=0.5,incentive=0.5: a `reminder` recovers with --reminder-uplift and no discount,
    /// any other variant with the play's uplift and a 10% discount on the order it brings
    /// (docs/generator.md). Not with --returns or --carryover.
    #[arg(long, value_name = "NAME=SHARE,...", requires = "holdout", conflicts_with_all = ["returns", "carryover"])]
    pub variants: Option<String>,
    /// Salt of the variant rule [default: cartsona-variants]
    #[arg(long, value_name = "TEXT", requires = "variants")]
    pub variant_salt: Option<String>,
    /// Uplift of a plain reminder per archetype, like deal-seeker=0.03 (defaults in
    /// docs/generator.md; needs --variants).
    #[arg(long, value_name = "UPLIFTS", requires = "variants")]
    pub reminder_uplift: Option<String>,
    /// Plant returns: after an abandoned cart the shopper may come back and order (no cart id),
    /// with a probability that depends on what the features see (docs/generator.md); the orders
    /// after the last month's T and each shopper's planted probability of one go to DIR/next/.
    #[arg(long)]
    pub returns: bool,
    /// With --returns and --holdout: the play already ran from DATE, so treated shoppers' carts
    /// left since then returned with the play's uplift.
    #[arg(long, value_name = "DATE", requires_all = ["returns", "holdout"])]
    pub play_since: Option<String>,
    /// With --holdout and two months or more: the experiment runs after every month's T, and
    /// what it does carries over (treated deal-seekers who came back with the code wait for it;
    /// the treated get the play's opens and clicks); shoppers arrive in a month of their own and
    /// abandon again later. Writes DIR/carryover.csv (every listing and its planted rates).
    #[arg(long, requires = "holdout", conflicts_with = "returns")]
    pub carryover: bool,
    /// Replace DIR if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutFormat {
    Csv,
    Parquet,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}

/// What to do with a row that breaks the schema (`--on-bad-rows`, `[inputs] on_bad_rows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnBadRows {
    /// Stop at the first bad row (exit 2).
    Fail,
    /// Drop bad rows, count them, and show the counts in every summary.
    Skip,
}

/// The SQL dialects of `features --emit-sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqlDialect {
    Duckdb,
    Spark,
    Bigquery,
    Postgres,
}

/// What `order_value` holds (docs/outcomes.md "Net revenue").
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueIs {
    /// Before discounts: the net revenue takes discount_amount off.
    Gross,
    /// After discounts (Shopify's Total): the net revenue is the value itself.
    Net,
}
