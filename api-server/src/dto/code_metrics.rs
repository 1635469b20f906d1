//! `GET /api/v1/repositories/{id}/metrics`: the code metrics of a repository's current index
//! (not to be confused with the server's Prometheus `/metrics`).

use serde::Serialize;

/// Complexity distribution, maintainability, hotspots and technical debt.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeMetrics {
    /// Files with code analysis (a grammar parsed them).
    pub parsed_files: i64,
    /// Lines of code across analysed files.
    pub code_lines: i64,
    /// Functions and methods.
    pub functions: i64,
    /// Functions per complexity band.
    pub complexity: ComplexityDistribution,
    /// Mean cyclomatic complexity of a function.
    pub average_complexity: f64,
    /// Maintainability index weighted by lines of code (0–100).
    pub maintainability: f64,
    /// Files with a maintainability index below 20.
    pub unmaintainable_files: i64,
    /// The most complex functions, most complex first.
    pub hotspots: Vec<Hotspot>,
    /// The technical-debt estimate.
    pub technical_debt: TechnicalDebt,
}

/// Functions per McCabe band.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplexityDistribution {
    /// 1–5: simple.
    pub low: i64,
    /// 6–10: moderate.
    pub moderate: i64,
    /// 11–20: complex.
    pub high: i64,
    /// Over 20: untestable in practice.
    pub very_high: i64,
}

/// A complex function.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hotspot {
    /// Container path and name.
    pub qualified_name: String,
    /// `function` or `method`.
    pub kind: String,
    /// File.
    pub path: String,
    /// First line.
    pub start_line: i32,
    /// Last line.
    pub end_line: i32,
    /// Cyclomatic complexity.
    pub complexity: i32,
    /// Deepest nesting.
    pub max_nesting: i32,
}

/// Technical debt, SQALE-style (the formula is in `reposage_store`'s code-metrics docs).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TechnicalDebt {
    /// Estimated remediation time.
    pub minutes: f64,
    /// Remediation time over development time, in percent.
    pub ratio_percent: f64,
    /// `A` (best) to `E`.
    pub rating: char,
}

impl From<reposage_store::CodeMetrics> for CodeMetrics {
    fn from(metrics: reposage_store::CodeMetrics) -> Self {
        let reposage_store::CodeMetrics {
            parsed_files,
            code_lines,
            functions,
            complexity:
                reposage_store::ComplexityDistribution {
                    low,
                    moderate,
                    high,
                    very_high,
                },
            average_complexity,
            maintainability,
            unmaintainable_files,
            hotspots,
            technical_debt:
                reposage_store::TechnicalDebt {
                    minutes,
                    ratio_percent,
                    rating,
                },
        } = metrics;
        Self {
            parsed_files,
            code_lines,
            functions,
            complexity: ComplexityDistribution {
                low,
                moderate,
                high,
                very_high,
            },
            average_complexity,
            maintainability,
            unmaintainable_files,
            hotspots: hotspots
                .into_iter()
                .map(
                    |reposage_store::Hotspot {
                         qualified_name,
                         kind,
                         path,
                         start_line,
                         end_line,
                         complexity,
                         max_nesting,
                     }| Hotspot {
                        qualified_name,
                        kind,
                        path,
                        start_line,
                        end_line,
                        complexity,
                        max_nesting,
                    },
                )
                .collect(),
            technical_debt: TechnicalDebt {
                minutes,
                ratio_percent,
                rating,
            },
        }
    }
}
