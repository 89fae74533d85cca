//! A person's earlier names (`former_names`), kept when a name changes
//! (`users::rename`) and shown in `Patient.name` with use `old`.

use telemed_domain::{Result, UserId};

use crate::{from_micros, DbResult};

pub use telemed_domain::views::FormerName;

/// The former names of each of `people`, in their order, oldest first.
pub async fn of<'c, E>(executor: E, people: &[UserId]) -> Result<Vec<Vec<FormerName>>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    if people.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT user_id, display_name, family_name, given_names, until FROM former_names \
         WHERE user_id IN ({}) ORDER BY user_id, until",
        super::placeholders(people.len())
    );
    type Row = (String, String, Option<String>, Option<String>, i64);
    let mut query = sqlx::query_as::<_, Row>(&sql);
    for p in people {
        query = query.bind(p.to_string());
    }
    let rows = query.fetch_all(executor).await.db()?;
    Ok(super::by_person(
        people,
        rows.into_iter()
            .map(|(owner, display_name, family, given, until)| {
                let name = FormerName {
                    display_name,
                    family: family.unwrap_or_default(),
                    given: given
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                    until: from_micros(until),
                };
                (owner, name)
            }),
    ))
}
