//! Repository-level code metrics: complexity distribution, maintainability, hotspots and a
//! technical-debt estimate, computed in SQL over the indexed symbols and files.
//!
//! ## Technical debt
//! Remediation time, SQALE-style, in minutes:
//! - per function or method: `10 × max(0, complexity − 10)` (each branch past 10 to untangle)
//!   `+ 15 × max(0, max_nesting − 4)` (each level past 4 to flatten)
//!   `+ 0.5 × max(0, lines − 60)` (each line past 60 to split out);
//! - per file: `30` when its maintainability index is below 20, `10` when below 40;
//!   `15` when it has syntax errors.
//!
//! The debt ratio is remediation time over development time, at SonarQube's default of 30 minutes
//! per line of code; the rating is SonarQube's grid: A ≤ 5 %, B ≤ 10 %, C ≤ 20 %, D ≤ 50 %, else E.

use crate::{RepositoryId, Result, Store};

/// Minutes it takes to develop one line of code (SonarQube's default), the debt ratio's denominator.
pub const MINUTES_PER_LINE: f64 = 30.0;

/// Code metrics of one repository's current index.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeMetrics {
    /// Files with code analysis (a grammar parsed them).
    pub parsed_files: i64,
    /// Lines of code across analysed files.
    pub code_lines: i64,
    /// Functions and methods.
    pub functions: i64,
    /// Functions per complexity band.
    pub complexity: ComplexityDistribution,
    /// Mean complexity of a function.
    pub average_complexity: f64,
    /// Maintainability index weighted by lines of code (0–100).
    pub maintainability: f64,
    /// Files with a maintainability index below 20.
    pub unmaintainable_files: i64,
    /// The most complex functions.
    pub hotspots: Vec<Hotspot>,
    /// The technical-debt estimate.
    pub technical_debt: TechnicalDebt,
}

/// Functions per McCabe band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
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
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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

/// Technical debt, SQALE-style (formula in the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct TechnicalDebt {
    /// Estimated remediation time.
    pub minutes: f64,
    /// Remediation time over development time, in percent.
    pub ratio_percent: f64,
    /// `A` (best) to `E`.
    pub rating: char,
}

impl TechnicalDebt {
    /// The debt of `minutes` of remediation on `code_lines` lines of code.
    pub fn new(minutes: f64, code_lines: i64) -> Self {
        let ratio = if code_lines > 0 {
            minutes / (code_lines as f64 * MINUTES_PER_LINE)
        } else {
            0.0
        };
        let rating = match ratio {
            r if r <= 0.05 => 'A',
            r if r <= 0.10 => 'B',
            r if r <= 0.20 => 'C',
            r if r <= 0.50 => 'D',
            _ => 'E',
        };
        Self {
            minutes,
            ratio_percent: ratio * 100.0,
            rating,
        }
    }
}

impl Store {
    /// Metrics of a repository's current index, with its `hotspots` most complex functions.
    pub async fn code_metrics(&self, repository_id: RepositoryId, hotspots: i64) -> Result<CodeMetrics> {
        let (parsed_files, code_lines, maintainability, unmaintainable_files, file_debt): (i64, i64, f64, i64, f64) =
            sqlx::query_as(
                "SELECT COUNT(*) FILTER (WHERE parse_status IS NOT NULL),
                        COALESCE(SUM(code_lines) FILTER (WHERE skip_reason IS NULL), 0)::bigint,
                        COALESCE(SUM(maintainability * code_lines) / NULLIF(SUM(code_lines)
                            FILTER (WHERE maintainability IS NOT NULL), 0), 100.0)::float8,
                        COUNT(*) FILTER (WHERE maintainability < 20),
                        COALESCE(SUM(CASE WHEN maintainability < 20 THEN 30 WHEN maintainability < 40 THEN 10
                                          ELSE 0 END
                                     + CASE WHEN parse_status = 'syntax-errors' THEN 15 ELSE 0 END), 0)::float8
                 FROM files WHERE repository_id = $1",
            )
            .bind(repository_id)
            .fetch_one(&self.pool)
            .await?;
        let (functions, average_complexity, function_debt, low, moderate, high, very_high): (
            i64,
            f64,
            f64,
            i64,
            i64,
            i64,
            i64,
        ) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(AVG(complexity), 0)::float8,
                    COALESCE(SUM(10 * GREATEST(complexity - 10, 0) + 15 * GREATEST(max_nesting - 4, 0)
                                 + 0.5 * GREATEST(lines - 60, 0)), 0)::float8,
                    COUNT(*) FILTER (WHERE complexity <= 5),
                    COUNT(*) FILTER (WHERE complexity BETWEEN 6 AND 10),
                    COUNT(*) FILTER (WHERE complexity BETWEEN 11 AND 20),
                    COUNT(*) FILTER (WHERE complexity > 20)
             FROM symbols WHERE repository_id = $1 AND complexity IS NOT NULL",
        )
        .bind(repository_id)
        .fetch_one(&self.pool)
        .await?;
        let hotspots: Vec<Hotspot> = sqlx::query_as(
            "SELECT s.qualified_name, s.kind, f.path, s.start_line, s.end_line, s.complexity,
                    COALESCE(s.max_nesting, 0) AS max_nesting
             FROM symbols s JOIN files f ON f.id = s.file_id
             WHERE s.repository_id = $1 AND s.complexity IS NOT NULL
             ORDER BY s.complexity DESC, s.max_nesting DESC NULLS LAST, f.path, s.start_line
             LIMIT $2",
        )
        .bind(repository_id)
        .bind(hotspots)
        .fetch_all(&self.pool)
        .await?;
        Ok(CodeMetrics {
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
            hotspots,
            technical_debt: TechnicalDebt::new(file_debt + function_debt, code_lines),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::TechnicalDebt;

    #[test]
    fn the_debt_rating_follows_the_sqale_grid() {
        // 1000 lines = 30000 minutes of development
        assert_eq!(TechnicalDebt::new(1500.0, 1000).rating, 'A');
        assert_eq!(TechnicalDebt::new(1501.0, 1000).rating, 'B');
        assert_eq!(TechnicalDebt::new(6000.0, 1000).rating, 'C');
        assert_eq!(TechnicalDebt::new(15000.0, 1000).rating, 'D');
        assert_eq!(TechnicalDebt::new(15001.0, 1000).rating, 'E');
        assert!((TechnicalDebt::new(3000.0, 1000).ratio_percent - 10.0).abs() < 1e-9);
        assert_eq!(TechnicalDebt::new(0.0, 0).rating, 'A');
    }
}
