//! How values are bound in SQL that both drivers take alike.

/// A number bound as its decimal text and cast in SQL. sqlx's `Any` driver binds a
/// missing `f64` as a PostgreSQL `float4`, and the prepared statement then keeps that
/// type for the next call, whose `f64` no longer fits; text has one type either way, and
/// Rust writes the shortest text that reads back as the same `f64`.
pub(crate) fn decimal(v: Option<f64>) -> Option<String> {
    v.map(|v| v.to_string())
}
