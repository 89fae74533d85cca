//! Messages as FHIR searches them (Communication): the messages of the threads a person
//! is a member of, and for staff the clinic inbox's, with each message's thread subject,
//! patient, sender and the members it reached.

use telemed_domain::{Error, MessageId, Result, UserId};

use super::{count, limits, order_by, page, SortKey, Where};
use crate::{from_micros, DbResult};

pub use telemed_domain::query::CommunicationQuery;

pub use telemed_domain::views::Communication;

#[derive(sqlx::FromRow)]
struct CommunicationRow {
    id: String,
    thread_id: String,
    subject: String,
    patient_id: Option<String>,
    clinic_inbox: i64,
    sender_id: String,
    sender_role: String,
    body: String,
    created_at: i64,
}

fn corrupt<E>(_: E) -> Error {
    Error::internal("corrupt message row")
}

impl TryFrom<CommunicationRow> for Communication {
    type Error = Error;
    fn try_from(r: CommunicationRow) -> Result<Communication> {
        Ok(Communication {
            id: r.id.parse().map_err(corrupt)?,
            thread_id: r.thread_id.parse().map_err(corrupt)?,
            subject: r.subject,
            patient: r
                .patient_id
                .map(|p| p.parse())
                .transpose()
                .map_err(corrupt)?,
            clinic_inbox: r.clinic_inbox != 0,
            sender: (
                r.sender_id.parse().map_err(corrupt)?,
                r.sender_role.parse().map_err(corrupt)?,
            ),
            body: r.body,
            sent_at: from_micros(r.created_at),
            recipients: vec![],
            attachments: vec![],
        })
    }
}

const FROM: &str =
    "messages m JOIN threads t ON t.id = m.thread_id JOIN users u ON u.id = m.sender_id";

fn communication_where(q: &CommunicationQuery) -> Where {
    let mut w = Where::default();
    let member = match q.reader {
        Some(r) => format!(
            "EXISTS (SELECT 1 FROM thread_members tm WHERE tm.thread_id = m.thread_id AND tm.user_id = {})",
            w.text(r.to_string())
        ),
        None => "1 = 0".into(),
    };
    w.clauses.push(if q.clinic_inbox {
        format!("({member} OR t.clinic_inbox = 1)")
    } else {
        member
    });
    if let Some(p) = q.patient {
        let p = w.text(p.to_string());
        w.clauses.push(format!("t.patient_id = {p}"));
    }
    w.all_of(&q.ids, |w, id| format!("m.id = {}", w.text(id.to_string())));
    w.all_of(&q.patients, |w, p| {
        format!("t.patient_id = {}", w.text(p.to_string()))
    });
    w.all_of(&q.sent, |w, c| w.time("m.created_at", c));
    w
}

impl crate::Store {
    /// One page of the messages `q` reaches, newest first unless sorted, each with its
    /// recipients; and whether more follow.
    pub async fn search_communications(
        &self,
        q: &CommunicationQuery,
    ) -> Result<(Vec<Communication>, bool)> {
        let w = communication_where(q);
        // Messages of one thread sent in the same microsecond keep their thread's order.
        let newest_first = q.sort.first().is_none_or(|s| s.descending);
        let order = order_by(
            &q.sort,
            |k| match k {
                SortKey::Effective | SortKey::Updated => Some("m.created_at"),
                _ => None,
            },
            "m.created_at DESC",
        )
        .replace(
            "id ASC",
            if newest_first {
                "m.seq DESC, m.id ASC"
            } else {
                "m.seq ASC, m.id ASC"
            },
        );
        let sql = format!(
            "SELECT m.id, m.thread_id, t.subject, t.patient_id, t.clinic_inbox, m.sender_id, \
             u.role AS sender_role, m.body, m.created_at FROM {FROM} WHERE {} ORDER BY {order} {}",
            w.sql(),
            limits(q.limit, q.offset)
        );
        let (mut found, more) =
            page::<CommunicationRow, Communication>(self, &sql, &w.binds, q.limit).await?;
        let mut threads: Vec<String> = found.iter().map(|c| c.thread_id.to_string()).collect();
        threads.sort();
        threads.dedup();
        if threads.is_empty() {
            return Ok((found, more));
        }
        let marks: Vec<String> = (1..=threads.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT tm.thread_id, tm.user_id, u.role, tm.added_at FROM thread_members tm \
             JOIN users u ON u.id = tm.user_id WHERE tm.thread_id IN ({}) ORDER BY tm.added_at, tm.user_id",
            marks.join(", ")
        );
        let mut query = sqlx::query_as::<_, (String, String, String, i64)>(&sql);
        for t in &threads {
            query = query.bind(t.clone());
        }
        let members = query.fetch_all(self.pool()).await.db()?;
        let ids: Vec<MessageId> = found.iter().map(|c| c.id).collect();
        let mut conn = self.pool().acquire().await.db()?;
        for (message, blob) in crate::messaging::attachments_of(&mut conn, &ids).await? {
            if let Some(c) = found.iter_mut().find(|c| c.id == message) {
                c.attachments.push(blob);
            }
        }
        for c in &mut found {
            let thread = c.thread_id.to_string();
            for (t, user, role, added) in &members {
                if *t != thread || from_micros(*added) > c.sent_at {
                    continue;
                }
                let user: UserId = user.parse().map_err(corrupt)?;
                if user != c.sender.0 {
                    c.recipients.push((user, role.parse().map_err(corrupt)?));
                }
            }
        }
        Ok((found, more))
    }

    pub async fn count_communications(&self, q: &CommunicationQuery) -> Result<i64> {
        count(self, FROM, &communication_where(q)).await
    }
}
