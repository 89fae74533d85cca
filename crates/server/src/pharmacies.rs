//! The clinic's pharmacy directory, kept by admins: where prescriptions are sent or
//! taken, and which pharmacy each pharmacist account dispenses for.

use telemed_domain::access::{Op, Principal};
use telemed_domain::record::Section;
use telemed_domain::{Error, Permission, Result, Role, UserId};
use telemed_store::pharmacies::{self, Pharmacy, PharmacyDetails};

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::AppState;

/// A pharmacy's details as typed, checked: a name, an address and a phone are needed
/// (a patient goes there, a prescriber calls it); a FHIR endpoint, when given, is an
/// `https://` address (or `http://` on this machine, for a pharmacy system beside it).
pub fn validate(
    name: &str,
    address: &str,
    phone: &str,
    fhir_endpoint: &str,
) -> Result<PharmacyDetails> {
    let field = |field: &'static str, value: &str, max: usize| -> Result<String> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Error::invalid(
                field,
                format!("a pharmacy needs its {field}"),
            ));
        }
        if value.chars().count() > max || value.chars().any(char::is_control) {
            return Err(Error::invalid(
                field,
                format!("the {field} must be one line of at most {max} characters"),
            ));
        }
        Ok(value.to_owned())
    };
    let endpoint = fhir_endpoint.trim();
    let fhir_endpoint = if endpoint.is_empty() {
        None
    } else {
        let bad = || {
            Error::invalid(
                "fhir_endpoint",
                "the FHIR endpoint must be a full https:// address",
            )
        };
        let rest = match endpoint.split_once("://") {
            Some(("https", rest)) => rest,
            Some(("http", rest)) if is_this_machine(rest) => rest,
            _ => return Err(bad()),
        };
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty()
            || endpoint.len() > 500
            || endpoint
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad());
        }
        Some(endpoint.trim_end_matches('/').to_owned())
    };
    Ok(PharmacyDetails {
        name: field("name", name, 200)?,
        address: field("address", address, 500)?,
        phone: field("phone", phone, 50)?,
        fhir_endpoint,
    })
}

/// Whether an address's authority (`host[:port]/…`) is this machine.
fn is_this_machine(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// The directory, for anyone signed in (a prescriber picks from it; an admin keeps it,
/// and sees inactive pharmacies too).
pub async fn directory(state: &AppState, principal: &Principal) -> Result<Vec<Pharmacy>> {
    state
        .store
        .pharmacies(principal.can(Permission::UsersWrite))
        .await
}

/// What the admin's directory page shows: each pharmacy with its pharmacists' names,
/// and the pharmacist accounts one could add.
pub struct AdminView {
    pub pharmacies: Vec<(Pharmacy, Vec<String>)>,
    pub pharmacists: Vec<(UserId, String)>,
}

/// The directory as an admin keeps it (inactive pharmacies too).
pub async fn admin_view(state: &AppState, admin: &Principal) -> Result<AdminView> {
    admin.require(Permission::UsersWrite)?;
    let mut pharmacies = Vec::new();
    for pharmacy in state.store.pharmacies(true).await? {
        let members = state.store.pharmacy_members(&pharmacy.id).await?;
        pharmacies.push((
            pharmacy,
            members.into_iter().map(|(_, name)| name).collect(),
        ));
    }
    let filter = telemed_store::users::UserFilter {
        role: Some(Role::Pharmacist),
        query: None,
        limit: 500,
        offset: 0,
    };
    let pharmacists = state
        .store
        .list_users(&filter)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok(AdminView {
        pharmacies,
        pharmacists,
    })
}

/// The active pharmacy of the directory a request names by `field` (none when it names
/// none); refused naming the field when there is no such pharmacy.
pub async fn chosen(
    state: &AppState,
    id: Option<&str>,
    field: &'static str,
) -> Result<Option<Pharmacy>> {
    let Some(id) = id.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let found = state.store.pharmacy(id).await?.filter(|p| p.active);
    found
        .map(Some)
        .ok_or_else(|| Error::invalid(field, "no such pharmacy in the clinic's directory"))
}

/// The preferred pharmacy of `patient`, for whoever may read their demographics (the
/// patient, a proxy, their clinicians, the front desk).
pub async fn preferred(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
) -> Result<Option<Pharmacy>> {
    let grant = crate::record::authorize(
        state,
        ctx,
        principal,
        patient,
        Section::Demographics,
        Op::Read,
    )
    .await?;
    state.store.preferred_pharmacy(&grant).await
}

/// Sets (or clears) `patient`'s preferred pharmacy: an active pharmacy of the
/// directory; for whoever may change their demographics. Audited with the write.
pub async fn set_preferred(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    pharmacy: Option<&str>,
) -> Result<Option<Pharmacy>> {
    let chosen = chosen(state, pharmacy, "pharmacy_id").await?;
    let grant = crate::record::authorize(
        state,
        ctx,
        principal,
        patient,
        Section::Demographics,
        Op::Write,
    )
    .await?;
    let mut change = Change::begin(state).await?;
    pharmacies::set_preferred(change.tx(), &grant, chosen.as_ref().map(|p| p.id.as_str())).await?;
    change.audit(crate::record::audit_write(
        ctx,
        state,
        &grant,
        "preferred_pharmacy",
    ));
    change.commit().await?;
    Ok(chosen)
}

/// Adds a pharmacy (admins); audited.
pub async fn add(
    state: &AppState,
    ctx: &Ctx,
    admin: &Principal,
    details: PharmacyDetails,
) -> Result<Pharmacy> {
    admin.require(Permission::UsersWrite)?;
    let id = uuid::Uuid::new_v4().to_string();
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    pharmacies::insert(change.tx(), &id, &details, now).await?;
    change.audit(
        Event::new(ctx, now, "pharmacy.create", "pharmacy")
            .by(admin.user_id, admin.role)
            .on(&id),
    );
    change.commit().await?;
    state.store.pharmacy(&id).await?.ok_or(Error::NotFound)
}

/// Rewrites a pharmacy's details, or takes it out of the directory (`active` false:
/// its pharmacists no longer dispense for it); admins; audited.
pub async fn update(
    state: &AppState,
    ctx: &Ctx,
    admin: &Principal,
    id: &str,
    details: PharmacyDetails,
    active: bool,
) -> Result<Pharmacy> {
    admin.require(Permission::UsersWrite)?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    if !pharmacies::update(change.tx(), id, &details, active, now).await? {
        change.rollback().await?;
        return Err(Error::NotFound);
    }
    change.audit(
        Event::new(ctx, now, "pharmacy.update", "pharmacy")
            .by(admin.user_id, admin.role)
            .on(id)
            .detail(if active { "active" } else { "inactive" }),
    );
    change.commit().await?;
    state.store.pharmacy(id).await?.ok_or(Error::NotFound)
}

/// Makes a pharmacist account a member of a pharmacy (admins); the account must be a
/// pharmacist's and the pharmacy active. Audited.
pub async fn add_member(
    state: &AppState,
    ctx: &Ctx,
    admin: &Principal,
    pharmacy: &str,
    user: UserId,
) -> Result<()> {
    admin.require(Permission::UsersWrite)?;
    let found = state
        .store
        .pharmacy(pharmacy)
        .await?
        .filter(|p| p.active)
        .ok_or(Error::NotFound)?;
    let account = state.store.user_by_id(user).await?;
    if account.as_ref().map(|u| u.role) != Some(Role::Pharmacist) {
        return Err(Error::invalid(
            "user_id",
            "only a pharmacist's account can belong to a pharmacy",
        ));
    }
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    pharmacies::set_member(change.tx(), user, &found.id).await?;
    change.audit(
        Event::new(ctx, now, "pharmacy.member_add", "pharmacy")
            .by(admin.user_id, admin.role)
            .on(&found.id)
            .detail(format!("user {user}")),
    );
    change.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pharmacy_needs_its_name_address_and_phone_and_a_safe_endpoint() {
        let ok = validate(" Farmacia Sol ", "Calle Mayor 1", "+34 600 000 000", "").unwrap();
        assert_eq!(ok.name, "Farmacia Sol");
        assert_eq!(ok.fhir_endpoint, None);
        assert!(validate("", "a", "1", "").is_err());
        assert!(validate("a", "b\nc", "1", "").is_err());
        let https = validate("a", "b", "1", "https://fhir.example.org/r4/").unwrap();
        assert_eq!(
            https.fhir_endpoint.as_deref(),
            Some("https://fhir.example.org/r4")
        );
        assert!(validate("a", "b", "1", "http://127.0.0.1:9000/fhir").is_ok());
        for bad in ["http://fhir.example.org", "ftp://x", "not a url"] {
            assert!(validate("a", "b", "1", bad).is_err(), "{bad}");
        }
    }
}
