//! English and Spanish. Every text exists in both languages by construction: `texts!`
//! defines each key once with both translations, and templates read `t.key`.

use serde::{Deserialize, Serialize};

pub mod dates;
pub mod notes;
pub mod record;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lang {
    En,
    Es,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The first supported language in an `Accept-Language` header, by quality.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.unwrap_or_default().split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or_default().trim().to_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or_default();
            if let Some(lang) = Lang::from_code(primary) {
                if best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, lang));
                }
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::En)
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Es => &ES,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
        }
    }
}

macro_rules! texts {
    ($($key:ident: $en:literal, $es:literal;)*) => {
        /// Every text of the UI, in one language.
        #[derive(Debug)]
        pub struct Texts {
            $(pub $key: &'static str,)*
        }
        pub static EN: Texts = Texts { $($key: $en,)* };
        pub static ES: Texts = Texts { $($key: $es,)* };
        /// Every text as (key, English, Spanish), for checks that read whole pages.
        pub static ALL_TEXTS: &[(&str, &str, &str)] = &[$((stringify!($key), $en, $es),)*];
    };
}

texts! {
    skip_to_content: "Skip to content", "Saltar al contenido";
    nav_home: "Home", "Inicio";
    nav_account: "Account", "Cuenta";
    nav_users: "Users", "Usuarios";
    nav_audit: "Audit trail", "Registro de auditoría";
    nav_outbox: "Mail outbox", "Correo saliente";
    nav_access_log: "Who saw my record", "Quién vio mi historia";
    sign_in: "Sign in", "Iniciar sesión";
    sign_out: "Sign out", "Cerrar sesión";
    register: "Create an account", "Crear una cuenta";
    language: "Language", "Idioma";
    change: "Change", "Cambiar";
    save: "Save", "Guardar";
    email: "Email", "Correo electrónico";
    password: "Password", "Contraseña";
    new_password: "New password", "Nueva contraseña";
    display_name: "Full name", "Nombre completo";
    password_hint: "At least 10 characters. A few unrelated words work well.", "Al menos 10 caracteres. Unas palabras sin relación entre sí funcionan bien.";
    login_title: "Sign in to telemed", "Inicie sesión en telemed";
    forgot_link: "Forgot your password?", "¿Olvidó su contraseña?";
    new_patient: "New patient?", "¿Paciente nuevo?";
    login_failed: "The email or password is not right.", "El correo o la contraseña no son correctos.";
    too_many_attempts: "Too many attempts. Wait a few minutes and try again.", "Demasiados intentos. Espere unos minutos y vuelva a intentarlo.";
    login_unverified: "Confirm your email address first: we have sent you a new link.", "Primero confirme su correo: le enviamos un enlace nuevo.";
    account_disabled: "This account is disabled. Contact the clinic.", "Esta cuenta está desactivada. Contacte con la clínica.";
    signed_out_idle: "You were signed out after a period of inactivity.", "Se cerró su sesión por inactividad.";
    mfa_title: "Two-step verification", "Verificación en dos pasos";
    mfa_prompt: "Enter the 6-digit code from your authenticator app, or one of your recovery codes.", "Escriba el código de 6 dígitos de su aplicación de autenticación o uno de sus códigos de recuperación.";
    mfa_code: "Code", "Código";
    mfa_failed: "That code is not right.", "Ese código no es correcto.";
    verify: "Verify", "Verificar";
    register_title: "Create your patient account", "Cree su cuenta de paciente";
    register_button: "Create account", "Crear cuenta";
    register_sent: "Check your email: we have sent you a link to confirm your address.", "Revise su correo: le enviamos un enlace para confirmar su dirección.";
    verify_ok: "Your email address is confirmed. You can sign in now.", "Su correo está confirmado. Ya puede iniciar sesión.";
    link_invalid: "This link is not valid or has expired.", "Este enlace no es válido o ha caducado.";
    forgot_title: "Reset your password", "Restablecer la contraseña";
    forgot_button: "Send reset link", "Enviar enlace";
    forgot_sent: "If an account exists for this address, we have sent it a link to reset the password.", "Si existe una cuenta con esta dirección, le enviamos un enlace para restablecer la contraseña.";
    reset_title: "Choose a new password", "Elija una contraseña nueva";
    reset_done: "Your password is changed and your other sessions are signed out. Sign in with the new password.", "Su contraseña se cambió y se cerraron sus otras sesiones. Inicie sesión con la nueva contraseña.";
    invite_title: "Join the clinic", "Únase a la clínica";
    invite_intro: "You have been invited to telemed with the role:", "Le invitaron a telemed con el rol:";
    invite_button: "Create my account", "Crear mi cuenta";
    invite_done: "Your account is ready. Sign in, then set up two-step verification.", "Su cuenta está lista. Inicie sesión y configure la verificación en dos pasos.";
    home_title: "Welcome", "Bienvenido";
    home_intro: "You are signed in to telemed.", "Ha iniciado sesión en telemed.";
    account_title: "Your account", "Su cuenta";
    role: "Role", "Rol";
    specialty: "Specialty", "Especialidad";
    on: "On", "Activada";
    off: "Off", "Desactivada";
    mfa_set_up: "Set up", "Configurar";
    mfa_turn_off: "Turn off", "Desactivar";
    mfa_setup_title: "Set up two-step verification", "Configure la verificación en dos pasos";
    mfa_setup_steps: "Scan this code with an authenticator app, or type the key into it. Then enter the 6-digit code the app shows.", "Escanee este código con una aplicación de autenticación o escriba la clave en ella. Luego escriba el código de 6 dígitos que muestra.";
    mfa_key: "Key", "Clave";
    mfa_turn_on: "Turn on", "Activar";
    mfa_required: "Your role needs two-step verification. Set it up to continue.", "Su rol requiere la verificación en dos pasos. Configúrela para continuar.";
    recovery_title: "Your recovery codes", "Sus códigos de recuperación";
    recovery_intro: "Keep these codes somewhere safe. Each one signs you in once if you lose your phone. They are not shown again.", "Guarde estos códigos en un lugar seguro. Cada uno le permite entrar una vez si pierde su teléfono. No se vuelven a mostrar.";
    recovery_left: "Recovery codes left", "Códigos de recuperación restantes";
    continue_label: "Continue", "Continuar";
    sessions_title: "Signed-in devices", "Dispositivos con sesión iniciada";
    this_device: "This device", "Este dispositivo";
    signed_in_at: "Signed in", "Inicio de sesión";
    last_active: "Last active", "Última actividad";
    address: "Address", "Dirección";
    sign_out_everywhere: "Sign out everywhere", "Cerrar sesión en todas partes";
    tokens_title: "API tokens", "Tokens de API";
    tokens_intro: "Tokens let other programs use the telemed API as you, within the scopes you choose.", "Los tokens permiten que otros programas usen la API de telemed en su nombre, dentro de los permisos que elija.";
    token_name: "Name", "Nombre";
    token_scopes: "Scopes", "Permisos";
    token_days: "Valid for (days)", "Válido durante (días)";
    token_create: "Create token", "Crear token";
    token_created: "Copy this token now: it is not shown again.", "Copie este token ahora: no se vuelve a mostrar.";
    expires: "Expires", "Caduca";
    last_used: "Last used", "Último uso";
    revoke: "Revoke", "Revocar";
    nothing_yet: "Nothing yet.", "Nada todavía.";
    users_title: "Users", "Usuarios";
    search: "Search", "Buscar";
    any_role: "Any role", "Cualquier rol";
    status: "Status", "Estado";
    active: "Active", "Activo";
    disabled: "Disabled", "Desactivado";
    disable: "Disable", "Desactivar";
    enable: "Enable", "Activar";
    set_role: "Set role", "Cambiar rol";
    invite_heading: "Invite a clinician or staff member", "Invitar a un profesional o a personal";
    invite_send: "Send invitation", "Enviar invitación";
    invite_sent: "Invitation sent.", "Invitación enviada.";
    invitations: "Invitations", "Invitaciones";
    pending: "Pending", "Pendiente";
    accepted: "Accepted", "Aceptada";
    revoked: "Revoked", "Revocada";
    expired: "Expired", "Caducada";
    role_patient: "Patient", "Paciente";
    role_clinician: "Clinician", "Profesional clínico";
    role_staff: "Front desk staff", "Personal de recepción";
    role_admin: "Administrator", "Administrador";
    role_pharmacist: "Pharmacist", "Farmacéutico";
    outbox_title: "Mail outbox", "Correo saliente";
    outbox_intro: "Every email telemed sends passes through here. Without an SMTP server (demo), messages stay here to be read.", "Todo correo que envía telemed pasa por aquí. Sin servidor SMTP (demo), los mensajes se quedan aquí para leerlos.";
    to: "To", "Para";
    subject: "Subject", "Asunto";
    queued: "Queued", "En cola";
    sent: "Sent", "Enviado";
    audit_title: "Audit trail", "Registro de auditoría";
    audit_intro: "Every sign-in, account change and access to patient data, in a tamper-evident chain.", "Cada inicio de sesión, cambio de cuenta y acceso a datos de pacientes, en una cadena a prueba de manipulación.";
    when: "When", "Cuándo";
    who: "Who", "Quién";
    action: "Action", "Acción";
    patient: "Patient", "Paciente";
    outcome: "Outcome", "Resultado";
    request: "Request", "Solicitud";
    filter: "Filter", "Filtrar";
    older: "Older entries", "Entradas anteriores";
    verify_chain: "Verify the chain", "Verificar la cadena";
    chain_ok: "The chain is intact.", "La cadena está intacta.";
    chain_broken: "The chain is broken at entry", "La cadena está rota en la entrada";
    entries: "entries", "entradas";
    access_log_title: "Who saw my record", "Quién vio mi historia";
    proxies_title: "Proxy access", "Acceso de representantes";
    proxies_to_me: "Invitations to you", "Invitaciones para usted";
    proxies_to_me_none: "No invitation is waiting for your answer.", "Ninguna invitación espera su respuesta.";
    proxy_whose_record: "Whose record", "Historia de";
    proxy_relationship: "Relationship", "Relación";
    proxy_expires: "Answer before", "Responder antes del";
    proxy_since: "Since", "Desde";
    proxy_accept: "Accept", "Aceptar";
    proxy_decline: "Decline", "Rechazar";
    proxies_mine: "Who can see my record", "Quién puede ver mi historia";
    proxies_explain: "A proxy (a parent, a carer) reads your record and adds documents to it on your behalf, signed in with their own patient account. They get access only when they accept your invitation.", "Un representante (un familiar, un cuidador) lee su historia y añade documentos en su nombre, con su propia cuenta de paciente. Solo accede cuando acepta su invitación.";
    proxies_none: "Nobody else can see your record.", "Nadie más puede ver su historia.";
    proxies_none_patient: "Nobody has proxy access to this record.", "Nadie tiene acceso de representante a esta historia.";
    proxies_of_patient: "Who can see this patient's record on their behalf", "Quién puede ver la historia de este paciente en su nombre";
    proxies_waiting: "Invitations waiting for an answer", "Invitaciones pendientes de respuesta";
    proxy_remove: "Remove access", "Quitar el acceso";
    proxy_withdraw: "Withdraw", "Retirar";
    proxy_invite: "Invite a proxy", "Invitar a un representante";
    proxy_send: "Send invitation", "Enviar invitación";
    proxy_invite_hint: "We email the address a link. The person signs in (or registers as a patient) with that address to accept.", "Enviamos un enlace a esa dirección. La persona inicia sesión (o se registra como paciente) con esa dirección para aceptar.";
    proxy_invited: "Invitation sent.", "Invitación enviada.";
    proxy_removed: "Done: that access or invitation is gone.", "Hecho: ese acceso o invitación ya no existe.";
    proxy_accepted: "Accepted: you can now open that record.", "Aceptada: ya puede abrir esa historia.";
    proxy_declined: "Declined.", "Rechazada.";
    proxy_not_found: "That invitation or access is not there any more (answered, withdrawn or expired).", "Esa invitación o acceso ya no existe (respondida, retirada o caducada).";
    access_log_intro: "Each time someone at the clinic opens your record, it is listed here.", "Cada vez que alguien de la clínica abre su historia, aparece aquí.";
    months_short: "Jan, Feb, Mar, Apr, May, Jun, Jul, Aug, Sep, Oct, Nov, Dec", "ene, feb, mar, abr, may, jun, jul, ago, sep, oct, nov, dic";
    months: "January, February, March, April, May, June, July, August, September, October, November, December", "enero, febrero, marzo, abril, mayo, junio, julio, agosto, septiembre, octubre, noviembre, diciembre";
    weekdays_in_dates: "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday", "lunes, martes, miércoles, jueves, viernes, sábado, domingo";
    weekdays_short: "Mon, Tue, Wed, Thu, Fri, Sat, Sun", "lun, mar, mié, jue, vie, sáb, dom";
    date_long: "{weekday} {day} {month} {year}", "{weekday} {day} de {month} de {year}";
    date_long_no_year: "{weekday} {day} {month}", "{weekday} {day} de {month}";
    date_short: "{wd} {day} {mon} {year}", "{wd} {day} {mon} {year}";
    date_short_no_year: "{wd} {day} {mon}", "{wd} {day} {mon}";
    date_plain: "{day} {mon} {year}", "{day} {mon} {year}";
    date_plain_no_year: "{day} {mon}", "{day} {mon}";
    st_active: "active", "activo";
    st_recurrence: "recurrence", "recurrencia";
    st_relapse: "relapse", "recaída";
    st_inactive: "inactive", "inactivo";
    st_remission: "remission", "remisión";
    st_resolved: "resolved", "resuelto";
    st_unstated: "status not stated", "estado no indicado";
    st_stopped: "stopped", "suspendido";
    st_completed: "completed", "completado";
    st_intended: "planned", "previsto";
    st_on_hold: "on hold", "en pausa";
    st_not_taken: "not taken", "no tomado";
    st_not_done: "not given", "no administrada";
    st_registered: "registered", "registrado";
    st_partial: "partial", "parcial";
    st_preliminary: "preliminary", "preliminar";
    st_final: "final", "definitivo";
    st_amended: "amended", "modificado";
    st_corrected: "corrected", "corregido";
    st_appended: "appended", "ampliado";
    st_cancelled: "cancelled", "cancelado";
    st_unknown: "status unknown", "estado desconocido";
    st_entered_in_error: "entered in error", "registrado por error";
    ver_unconfirmed: "UNCONFIRMED", "NO CONFIRMADO";
    ver_provisional: "PROVISIONAL", "PROVISIONAL";
    ver_differential: "DIFFERENTIAL", "DIFERENCIAL";
    ver_confirmed: "confirmed", "confirmado";
    ver_refuted: "REFUTED", "DESCARTADO";
    sev_mild: "mild", "leve";
    sev_moderate: "moderate", "moderada";
    sev_severe: "severe", "grave";
    crit_low: "low", "baja";
    crit_high: "high", "alta";
    crit_unable: "unable to assess", "no evaluable";
    el_sent_as: "sent as {value}", "enviado como {value}";
    el_reference: "reference {low}–{high}", "referencia {low}–{high}";
    el_out_of_range: "out of range", "fuera de rango";
    el_criticality: "criticality {value}", "criticidad {value}";
    el_report_of: "report of {count} results", "informe de {count} resultados";
    el_until: "to", "hasta";
    browser: "Browser", "Navegador";
    copy: "Copy", "Copiar";
    week_nav: "Weeks", "Semanas";
    day_nav: "Days", "Días";
    day_today: "Today", "Hoy";
    day_waiting: "waiting now", "esperando ahora";
    day_no_visits: "No visits today.", "Hoy no hay citas.";
    day_unread: "Unread messages", "Mensajes sin leer";
    day_no_unread: "Nothing unread.", "Nada sin leer.";
    call_timer: "Time in the call", "Tiempo en la llamada";
    call_to_change: "Less than {hours} hours before the visit, it can no longer be moved or cancelled online: call the clinic.", "A menos de {hours} horas de la cita ya no se puede cambiar ni cancelar en línea: llame a la clínica.";
    next_steps: "Before your visit: check your camera, microphone and speaker below, then check in. The button to join appears once you are checked in.", "Antes de la cita: compruebe abajo la cámara, el micrófono y el altavoz, y después registre su llegada. El botón para entrar aparece al registrarse.";
    tpl_general: "General consultation", "Consulta general";
    tpl_general_s: "Reason for visit:\nHistory of present illness:\n", "Motivo de consulta:\nEnfermedad actual:\n";
    tpl_general_o: "Observed on video:\nVitals reported:\n", "Observado en vídeo:\nConstantes referidas:\n";
    tpl_general_p: "Treatment:\nFollow-up:\n", "Tratamiento:\nSeguimiento:\n";
    tpl_dermatology: "Dermatology", "Dermatología";
    tpl_dermatology_s: "Lesion history (onset, change, symptoms):\n", "Historia de la lesión (inicio, cambios, síntomas):\n";
    tpl_dermatology_o: "Site:\nMorphology (size, colour, border):\nPhotos reviewed:\n", "Localización:\nMorfología (tamaño, color, borde):\nFotos revisadas:\n";
    tpl_dermatology_p: "Treatment:\nBiopsy / referral:\nFollow-up photo in:\n", "Tratamiento:\nBiopsia / derivación:\nFoto de control en:\n";
    tpl_psychiatry: "Psychiatry", "Psiquiatría";
    tpl_psychiatry_s: "Mood and sleep:\nStressors:\nRisk (self/others):\n", "Ánimo y sueño:\nFactores de estrés:\nRiesgo (autolesión/terceros):\n";
    tpl_psychiatry_o: "Mental state examination:\nScales (PHQ-9, GAD-7):\n", "Exploración del estado mental:\nEscalas (PHQ-9, GAD-7):\n";
    tpl_psychiatry_p: "Therapy:\nMedication:\nSafety plan:\nFollow-up:\n", "Terapia:\nMedicación:\nPlan de seguridad:\nSeguimiento:\n";
    tpl_cardiology: "Cardiology", "Cardiología";
    tpl_cardiology_s: "Chest pain, dyspnoea, palpitations, syncope:\n", "Dolor torácico, disnea, palpitaciones, síncope:\n";
    tpl_cardiology_o: "Home blood pressure and heart rate:\nECG reviewed:\n", "Tensión arterial y frecuencia cardiaca en casa:\nECG revisado:\n";
    tpl_cardiology_p: "Medication:\nTests:\nFollow-up:\n", "Medicación:\nPruebas:\nSeguimiento:\n";
    al_when: "{date} at {time}", "{date} a las {time}";
    al_what: "What", "Qué";
    al_allowed: "done", "hecho";
    al_refused: "refused", "denegado";
    al_failed: "failed", "fallido";
    al_section_read: "opened your record: {section}", "abrió su historia: {section}";
    al_section_write: "wrote in your record: {section}", "anotó en su historia: {section}";
    al_chart_read: "opened your chart", "abrió su historia clínica";
    al_access_log_read: "looked at who saw your record", "consultó quién vio su historia";
    al_export: "exported a copy of your record", "exportó una copia de su historia";
    al_document_open: "opened a document in your record", "abrió un documento de su historia";
    al_note_sign: "signed a visit note", "firmó una nota de visita";
    al_note_addendum: "added an addendum to a visit note", "añadió una adenda a una nota de visita";
    al_break_glass: "opened your record in an emergency (break the glass)", "abrió su historia en una emergencia (acceso de urgencia)";
    al_care_team_add: "added someone to your care team", "añadió a alguien a su equipo de atención";
    al_proxy_invite: "invited someone to be your proxy", "invitó a alguien a ser su representante";
    al_proxy_accept: "accepted proxy access to your record", "aceptó el acceso de representante a su historia";
    al_proxy_decline: "declined proxy access to your record", "rechazó el acceso de representante a su historia";
    al_proxy_revoke: "ended a proxy's access to your record", "retiró el acceso de un representante a su historia";
    al_proxy_withdraw: "withdrew a proxy invitation", "retiró una invitación de representante";
    al_proxy_list: "looked at who has proxy access", "consultó quién tiene acceso de representante";
    al_visit_admit: "let you into the video visit", "le hizo pasar a la videoconsulta";
    al_visit_enter: "entered the video visit", "entró en la videoconsulta";
    al_visit_leave: "left the video visit", "salió de la videoconsulta";
    al_visit_end: "ended the video visit", "terminó la videoconsulta";
    al_visit_chat: "wrote in the video visit's chat", "escribió en el chat de la videoconsulta";
    al_visit_record: "opened the record of a video visit", "abrió el registro de una videoconsulta";
    al_visit_invite: "invited a guest to a video visit", "invitó a un acompañante a una videoconsulta";
    al_visit_invite_used: "joined a video visit as a guest", "entró como acompañante en una videoconsulta";
    al_visit_invite_revoke: "withdrew a guest's invitation", "retiró la invitación de un acompañante";
    al_consent: "accepted the telehealth consent", "aceptó el consentimiento de telemedicina";
    al_appointment_book: "booked a visit", "reservó una consulta";
    al_appointment_cancel: "cancelled a visit", "canceló una consulta";
    al_appointment_move: "moved a visit", "cambió una consulta de hora";
    al_appointment_check_in: "checked in for a visit", "registró la llegada a una consulta";
    al_appointment_noshow: "marked a visit as missed", "marcó una consulta como no acudida";
    al_appointment_noshow_undo: "undid a missed visit", "deshizo una consulta no acudida";
    al_appointment_fulfil: "completed a visit", "completó una consulta";
    al_appointment_read: "looked at your visits", "consultó sus consultas";
    al_message_read: "read your messages", "leyó sus mensajes";
    al_message_send: "sent a message", "envió un mensaje";
    al_thread_create: "started a conversation", "inició una conversación";
    al_thread_route: "passed a conversation to a clinician", "pasó una conversación a un profesional";
    al_attachment_read: "opened a file sent in a message", "abrió un archivo enviado en un mensaje";
    al_prescription_sign: "signed a prescription", "firmó una receta";
    al_prescription_pdf: "printed a prescription", "imprimió una receta";
    al_prescription_send: "sent a prescription to a pharmacy", "envió una receta a una farmacia";
    al_prescription_dispense: "dispensed a prescription", "dispensó una receta";
    al_prescription_verify: "checked a prescription", "comprobó una receta";
    al_prescription_change: "changed a prescription", "modificó una receta";
    al_renewal_request: "asked for a prescription renewal", "pidió la renovación de una receta";
    al_renewal_answer: "answered a renewal request", "respondió a una petición de renovación";
    al_other: "used your record", "usó su historia";
    error_title: "Something went wrong", "Algo salió mal";
    error_reference: "Reference", "Referencia";
    back_home: "Back to the start page", "Volver al inicio";
    err_not_found: "We could not find that page.", "No encontramos esa página.";
    err_forbidden: "You are not allowed to do this.", "No tiene permiso para hacer esto.";
    err_invalid: "The request was not valid.", "La solicitud no era válida.";
    err_too_large: "What you sent is too large.", "Lo que envió es demasiado grande.";
    err_quota: "This file does not fit: your files take {used} MB of the {quota} MB you may store. Delete unsent uploads or ask the clinic for more room.", "Este archivo no cabe: sus archivos ocupan {used} MB de los {quota} MB que puede guardar. Borre los adjuntos sin enviar o pida más espacio a la clínica.";
    storage: "Storage", "Almacenamiento";
    storage_of: "{used} MB of {quota} MB", "{used} MB de {quota} MB";
    storage_unlimited: "{used} MB (no quota)", "{used} MB (sin cuota)";
    storage_unsent: "{n} unsent", "{n} sin enviar";
    storage_total: "Files stored by everyone: {used} MB in {files} files.", "Archivos guardados por todos: {used} MB en {files} archivos.";
    err_internal: "An error happened on our side. Please try again.", "Ocurrió un error de nuestra parte. Vuelva a intentarlo.";
    err_session_form: "The form expired. Reload the page and try again.", "El formulario caducó. Recargue la página y vuelva a intentarlo.";
    err_email: "Enter a valid email address.", "Escriba un correo electrónico válido.";
    err_password_short: "Use at least 10 characters.", "Use al menos 10 caracteres.";
    err_password_weak: "This password is too common or too easy to guess. Try a few unrelated words.", "Esta contraseña es demasiado común o fácil de adivinar. Pruebe con unas palabras sin relación.";
    err_name: "Enter a name of 1 to 100 characters.", "Escriba un nombre de 1 a 100 caracteres.";
    nav_book: "Book a visit", "Reservar una cita";
    nav_appointments: "My appointments", "Mis citas";
    nav_calendar: "Calendar", "Agenda";
    book_title: "Find a clinician", "Buscar un profesional";
    any: "Any", "Cualquiera";
    visit_kind: "Visit type", "Tipo de visita";
    kind_video: "Video", "Videollamada";
    kind_audio: "Phone (audio only)", "Teléfono (solo audio)";
    kind_messaging: "Messages", "Mensajes";
    languages: "Languages", "Idiomas";
    region_label: "Where you are (region code, e.g. ES-MD)", "Dónde está (código de región, p. ej. ES-MD)";
    next_available: "Next available", "Próxima disponibilidad";
    see_times: "See times", "Ver horarios";
    no_clinicians: "No clinician matches. Try fewer filters.", "Ningún profesional coincide. Pruebe con menos filtros.";
    none_available: "No free time in the next 31 days", "Sin horas libres en los próximos 31 días";
    times_in: "Times shown in", "Horas en";
    prev_week: "Previous week", "Semana anterior";
    next_week: "Next week", "Semana siguiente";
    no_slots: "No free times this week.", "No hay horas libres esta semana.";
    confirm_title: "Confirm your visit", "Confirme su cita";
    reason_label: "Reason for the visit", "Motivo de la consulta";
    confirm_button: "Book this visit", "Reservar esta cita";
    fee: "Fee", "Tarifa";
    duration: "Duration", "Duración";
    minutes: "min", "min";
    booked_notice: "Your visit is booked.", "Su cita está reservada.";
    cancelled_notice: "The visit is cancelled.", "La cita está cancelada.";
    upcoming: "Upcoming", "Próximas";
    past: "Past", "Pasadas";
    cancel_visit: "Cancel visit", "Cancelar cita";
    cancel_reason: "Reason (sent to the patient)", "Motivo (se envía al paciente)";
    calendar_title: "Appointments", "Citas";
    clinician: "Clinician", "Profesional";
    status_proposed: "Proposed", "Propuesta";
    status_booked: "Booked", "Reservada";
    status_arrived: "In the waiting room", "En la sala de espera";
    status_fulfilled: "Done", "Realizada";
    status_cancelled: "Cancelled", "Cancelada";
    status_noshow: "Missed", "No asistió";
    status_error: "Entered in error", "Registrada por error";
    previous_day: "Previous day", "Día anterior";
    next_day: "Next day", "Día siguiente";
    add_to_calendar: "Add to calendar", "Añadir al calendario";
    feed_title: "Calendar app feed", "Suscripción para su aplicación de calendario";
    feed_intro: "Subscribe to this private link in your calendar app to see your visits there. It shows times and a link, never patients' names. Making a new link stops the old one.", "Suscríbase a este enlace privado en su aplicación de calendario para ver allí sus citas. Muestra horas y un enlace, nunca nombres de pacientes. Crear un enlace nuevo anula el anterior.";
    feed_new: "Make a new link", "Crear un enlace nuevo";
    nav_notifications: "Notifications", "Avisos";
    nav_waiting_room: "Waiting room", "Sala de espera";
    moved_notice: "Your visit has a new time.", "Su cita tiene una hora nueva.";
    move_visit: "Change time", "Cambiar hora";
    move_title: "Choose a new time", "Elija una hora nueva";
    move_current: "Now booked for", "Reservada ahora para";
    move_button: "Move the visit here", "Mover la cita a esta hora";
    move_reason: "Reason (sent to the patient)", "Motivo (se envía al paciente)";
    undo_noshow: "Undo missed", "Deshacer «no asistió»";
    waiting_room_link: "Waiting room", "Sala de espera";
    waiting_title: "Virtual waiting room", "Sala de espera virtual";
    device_check: "Check your device", "Compruebe su equipo";
    device_intro: "Before the visit, check that your camera, microphone, speaker and connection work. Nothing is recorded or sent.", "Antes de la cita, compruebe que su cámara, micrófono, altavoz y conexión funcionan. No se graba ni se envía nada.";
    check_camera: "Test camera and microphone", "Probar cámara y micrófono";
    camera: "Camera", "Cámara";
    microphone: "Microphone", "Micrófono";
    speaker: "Speaker", "Altavoz";
    connection: "Connection", "Conexión";
    play_sound: "Play a test sound", "Reproducir un sonido de prueba";
    heard_it: "I heard it", "Lo oí";
    not_checked: "Not checked yet", "Aún sin comprobar";
    speak_hint: "Speak: the bar moves when the microphone hears you.", "Hable: la barra se mueve cuando el micrófono le oye.";
    check_in: "Check in", "Registrar llegada";
    check_in_opens: "Check-in opens at", "El registro de llegada se abre a las";
    checked_in_since: "You are checked in since", "Está registrado desde las";
    checked_in_hint: "Your clinician sees you in the queue and will start the visit. Keep this page open.", "Su profesional le ve en la cola y comenzará la cita. Mantenga esta página abierta.";
    visit_closed: "This visit is over or no longer booked.", "Esta cita terminó o ya no está reservada.";
    queue_title: "Waiting room", "Sala de espera";
    queue_empty: "Nobody is waiting or due in the next hour.", "Nadie espera ni tiene cita en la próxima hora.";
    queue_waiting: "Waiting", "Esperando";
    queue_due: "Due", "Pendiente";
    queue_late: "Late", "Con retraso";
    queue_too_long: "Waiting too long", "Espera demasiado larga";
    queue_live: "This list updates by itself.", "Esta lista se actualiza sola.";
    starts: "Starts", "Empieza";
    minutes_waiting: "min waiting", "min de espera";
    mark_all_read: "Mark all as read", "Marcar todo como leído";
    no_notifications: "No notifications.", "No hay avisos.";
    note_booked: "Visit booked", "Cita reservada";
    note_reminder: "Visit reminder", "Recordatorio de cita";
    note_cancelled: "Visit cancelled", "Cita cancelada";
    note_rescheduled: "Visit moved to a new time", "Cita cambiada de hora";
    note_patient_cancelled: "A patient cancelled a visit", "Un paciente canceló una cita";
    note_patient_rescheduled: "A patient moved a visit", "Un paciente cambió la hora de una cita";
    note_patient_booked: "A patient booked a visit with you", "Un paciente reservó una cita con usted";
    note_other: "Update", "Novedad";
    dc_ok: "Works", "Funciona";
    dc_fail: "Not working", "No funciona";
    nav_schedule: "Availability", "Disponibilidad";
    nav_schedules: "Schedules", "Horarios";
    nav_book_for: "Book for a patient", "Reservar para un paciente";
    schedules_title: "Clinicians' schedules", "Horarios de los profesionales";
    schedule_title: "Availability", "Disponibilidad";
    saved_notice: "Saved. Patients see the new times now.", "Guardado. Los pacientes ya ven los nuevos horarios.";
    profile: "Profile", "Perfil";
    languages_codes: "Languages spoken (codes, e.g. en es)", "Idiomas que habla (códigos, p. ej. en es)";
    regions_codes: "Licensed in (region codes, e.g. ES-MD US-NY)", "Habilitado en (códigos de región, p. ej. ES-MD US-NY)";
    bio: "About you (patients see this)", "Sobre usted (lo ven los pacientes)";
    weekly_hours: "Weekly hours", "Horario semanal";
    hours_hint: "Local time in your zone. Several ranges: 09:00-13:00, 15:00-18:00. Empty: closed.", "Hora local de su zona. Varios tramos: 09:00-13:00, 15:00-18:00. Vacío: cerrado.";
    time_zone: "Time zone", "Zona horaria";
    weekdays: "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday", "Lunes, Martes, Miércoles, Jueves, Viernes, Sábado, Domingo";
    exceptions: "Exceptions", "Excepciones";
    exceptions_hint: "One per line: 2026-12-24 closed · 2026-12-28 2026-12-31 closed · 2027-01-09 10:00-13:00 (extra hours)", "Una por línea: 2026-12-24 closed · 2026-12-28 2026-12-31 closed · 2027-01-09 10:00-13:00 (horas extra)";
    booking_rules: "Booking rules", "Reglas de reserva";
    buffer_minutes: "Break between visits (min)", "Pausa entre citas (min)";
    horizon_days: "Bookable up to (days ahead)", "Reservable con hasta (días de antelación)";
    min_notice_minutes: "Minimum notice (min)", "Antelación mínima (min)";
    visit_types: "Visit types", "Tipos de visita";
    offered: "Offered", "Ofrecida";
    currency: "Currency", "Moneda";
    preview_title: "Free times over the next 7 days", "Horas libres en los próximos 7 días";
    patient_email: "Patient's email", "Correo del paciente";
    day_view: "Day view", "Vista de día";
    mark_done: "Mark as done", "Marcar como realizada";
    nav_messages: "Messages", "Mensajes";
    new_message: "New message", "Mensaje nuevo";
    inbox: "Inbox", "Bandeja de entrada";
    archived: "Archived", "Archivados";
    archive: "Archive", "Archivar";
    no_messages: "No messages.", "No hay mensajes.";
    unread: "unread", "sin leer";
    clinic_inbox: "Clinic inbox", "Buzón de la clínica";
    seen: "Seen", "Visto";
    your_message: "Your message", "Su mensaje";
    send: "Send", "Enviar";
    attach_files: "Attach photos or PDFs (up to 5, 10 MB each)", "Adjuntar fotos o PDF (hasta 5, de 10 MB cada uno)";
    err_file_type: "Send pictures (PNG, JPEG, GIF, WebP) or PDF files.", "Envíe imágenes (PNG, JPEG, GIF, WebP) o archivos PDF.";
    open_file: "Open", "Abrir";
    route_to: "Pass to", "Pasar a";
    route: "Pass on", "Pasar";
    message_to: "To", "Para";
    the_clinic: "The clinic (front desk)", "La clínica (recepción)";
    note_message: "New message", "Mensaje nuevo";
    note_routed: "A conversation was passed to you", "Le pasaron una conversación";
    note_emergency_access: "A clinician opened your record in an emergency (see who and when in your access log)", "Un profesional abrió su historia clínica en una urgencia (vea quién y cuándo en su registro de accesos)";
    prefs_title: "Notification emails", "Correos de aviso";
    prefs_intro: "You always see notifications here. Choose which ones also come by email; emails never hold clinical details, only a link.", "Siempre verá los avisos aquí. Elija cuáles le llegan también por correo; los correos nunca llevan datos clínicos, solo un enlace.";
    email_visits: "Visits: confirmations, reminders and changes", "Citas: confirmaciones, recordatorios y cambios";
    email_messages: "New secure messages", "Mensajes seguros nuevos";
    saved: "Saved.", "Guardado.";
    week_view: "Week view", "Vista de semana";
    room_title: "Video visit", "Visita por video";
    room_with: "with", "con";
    room_connecting: "Connecting…", "Conectando…";
    room_waiting: "You are in the waiting room. The clinician will let you in shortly.", "Está en la sala de espera. El profesional le dará paso en breve.";
    room_in_call: "In the call", "En la llamada";
    room_ended: "The visit has ended.", "La visita ha terminado.";
    room_reconnecting: "Connection lost; reconnecting…", "Se perdió la conexión; reconectando…";
    room_you: "You", "Usted";
    room_mute: "Mute", "Silenciar";
    room_unmute: "Unmute", "Activar micrófono";
    room_camera_off: "Camera off", "Apagar cámara";
    room_camera_on: "Camera on", "Encender cámara";
    room_share: "Share screen", "Compartir pantalla";
    room_stop_share: "Stop sharing", "Dejar de compartir";
    room_audio_only: "Audio only", "Solo audio";
    room_video_back: "Video on", "Con video";
    room_end: "End visit", "Terminar visita";
    room_leave: "Leave", "Salir";
    room_admit: "Let in", "Dar paso";
    room_waiting_list: "Waiting to join", "Esperando para entrar";
    room_nobody_waiting: "Nobody is waiting.", "Nadie está esperando.";
    room_invite: "Invite someone to the call", "Invitar a alguien a la llamada";
    room_invite_label: "Who they are (e.g. Interpreter, Daughter)", "Quién es (p. ej. Intérprete, Hija)";
    room_invite_make: "Make a link", "Crear enlace";
    room_invite_hint: "Send this link to them; it works once and only for this visit.", "Envíele este enlace; sirve una sola vez y solo para esta visita.";
    room_revoke: "Revoke", "Revocar";
    room_chat: "Chat", "Chat";
    room_chat_placeholder: "Write a message", "Escriba un mensaje";
    room_quality: "Connection", "Conexión";
    room_quality_good: "good", "buena";
    room_quality_fair: "fair", "regular";
    room_quality_poor: "poor", "mala";
    room_summary: "Chart summary", "Resumen de la historia";
    room_reason: "Reason for the visit", "Motivo de la visita";
    room_visits: "Visits", "Visitas";
    room_consent: "Telehealth consent", "Consentimiento de telesalud";
    room_no_consent: "Not given", "No otorgado";
    room_kind_patient: "Patient", "Paciente";
    room_kind_clinician: "Clinician", "Profesional";
    room_kind_guest: "Guest", "Invitado";
    room_join: "Join the video visit", "Entrar a la visita por video";
    room_devices: "Camera and microphone", "Cámara y micrófono";
    consent_title: "Consent to telehealth", "Consentimiento de telesalud";
    consent_p1: "Your visit takes place by live video between your device and your clinician's. The video and sound go directly between the devices, encrypted; telemed does not record them.", "Su visita se realiza por video en vivo entre su dispositivo y el de su profesional. El video y el sonido van directamente entre los dispositivos, cifrados; telemed no los graba.";
    consent_p2: "A video visit has limits: the clinician cannot examine you in person and may ask you to come to the clinic or go to emergency services. In an emergency, call your local emergency number.", "Una visita por video tiene límites: el profesional no puede examinarle en persona y puede pedirle que acuda a la clínica o a urgencias. En una emergencia, llame al número de emergencias local.";
    consent_p3: "The clinic keeps a record of the visit (when it started and ended, who took part, the chat and the connection quality) with your health record.", "La clínica guarda un registro de la visita (inicio y fin, quién participó, el chat y la calidad de la conexión) con su historia clínica.";
    consent_p4: "You may withdraw this consent at any time and ask for an in-person visit instead.", "Puede retirar este consentimiento en cualquier momento y pedir una visita presencial.";
    consent_accept: "I agree", "Acepto";
    consent_version: "Version", "Versión";
    consents_title: "Consents", "Consentimientos";
    join_title: "Join a video visit", "Entrar a una visita por video";
    join_intro: "You are invited to a video visit with", "Le invitan a una visita por video con";
    join_as: "You join as", "Entra como";
    join_hint: "The clinician lets you in from the waiting room. This link works once.", "El profesional le dará paso desde la sala de espera. Este enlace sirve una sola vez.";
    join_button: "Join", "Entrar";
    record_title: "Visit record", "Registro de la visita";
    record_started: "Started", "Inicio";
    record_ended: "Ended", "Fin";
    record_duration: "Duration", "Duración";
    record_attendance: "Who took part", "Quién participó";
    record_joined: "Joined", "Entró";
    record_left: "Left", "Salió";
    record_quality: "Call quality", "Calidad de la llamada";
    record_rtt: "Round trip", "Ida y vuelta";
    record_loss: "Packet loss", "Pérdida de paquetes";
    record_bitrate: "Bitrate", "Tasa de bits";
    record_relayed: "Through a relay (TURN)", "A través de un relé (TURN)";
    record_no_quality: "No quality reports.", "Sin informes de calidad.";
    record_yes: "yes", "sí";
    record_no: "no", "no";
    record_open: "See the visit record", "Ver el registro de la visita";
    nav_record: "My record", "Mi historia";
    chart_title: "Health record", "Historia clínica";
    chart_open: "Open the chart", "Abrir la historia";
    chart_summary: "Summary", "Resumen";
    chart_nothing: "Nothing recorded.", "Nada registrado.";
    chart_recent_visits: "Recent visits", "Visitas recientes";
    chart_latest_vitals: "Latest vital signs", "Últimos signos vitales";
    chart_add_entry: "Add to the chart", "Añadir a la historia";
    chart_section: "Section", "Sección";
    chart_code_system: "Code system", "Sistema de códigos";
    chart_code: "Code", "Código";
    chart_text: "Description", "Descripción";
    chart_value: "Value", "Valor";
    chart_value2: "Second value (diastolic)", "Segundo valor (diastólica)";
    chart_unit: "Unit", "Unidad";
    chart_date: "Date", "Fecha";
    chart_severity: "Severity", "Gravedad";
    chart_reaction: "Reaction", "Reacción";
    chart_dosage: "Dosage", "Posología";
    chart_relation: "Relative", "Familiar";
    chart_range_low: "Reference range from", "Rango de referencia desde";
    chart_range_high: "to", "hasta";
    chart_note_field: "Note", "Nota";
    chart_add: "Add", "Añadir";
    chart_entry_hint: "Vital signs take their LOINC code (85354-9 blood pressure, 8867-4 heart rate, 8310-5 temperature, 59408-5 SpO2, 29463-7 weight, 8302-2 height, 2339-0 glucose); the unit is filled in.", "Los signos vitales llevan su código LOINC (85354-9 presión arterial, 8867-4 frecuencia cardiaca, 8310-5 temperatura, 59408-5 SpO2, 29463-7 peso, 8302-2 talla, 2339-0 glucosa); la unidad se completa sola.";
    chart_latest_only: "The latest 100 are shown; the data file download and the API have them all.", "Se muestran los 100 más recientes; la descarga del archivo de datos y la API los tienen todos.";
    chart_added: "Added to the chart.", "Añadido a la historia.";
    sec_demographics: "Demographics and contacts", "Datos personales y contactos";
    sec_problems: "Problems", "Problemas";
    sec_allergies: "Allergies and intolerances", "Alergias e intolerancias";
    sec_medications: "Medications", "Medicación";
    sec_immunizations: "Immunizations", "Vacunas";
    sec_vitals: "Vital signs", "Signos vitales";
    sec_labs: "Lab results", "Resultados de laboratorio";
    sec_history: "Family and social history", "Antecedentes familiares y sociales";
    sec_notes: "Visit notes", "Notas de visita";
    sec_documents: "Documents and images", "Documentos e imágenes";
    sec_prescriptions: "Prescriptions", "Recetas";
    rx_verify_title: "Verify a prescription", "Verificar una receta";
    rx_none: "No prescriptions.", "Sin recetas.";
    rx_active: "active", "activa";
    rx_not_active: "not to be dispensed", "no dispensar";
    rx_valid: "Valid: signed by this clinic, unaltered, in date and active", "Válida: firmada por esta clínica, sin alterar, vigente y activa";
    rx_expired: "Expired: signed by this clinic, but no longer in date", "Caducada: firmada por esta clínica, pero ya no vigente";
    rx_ended: "Not to be dispensed: ended by the prescriber", "No dispensar: finalizada por quien la prescribió";
    rx_medication: "Medication", "Medicamento";
    rx_sig: "How to take it", "Cómo tomarlo";
    rx_quantity: "Quantity", "Cantidad";
    rx_refills: "Refills", "Repeticiones";
    rx_patient: "Patient (initials · birth year)", "Paciente (iniciales · año de nacimiento)";
    rx_prescriber: "Prescriber", "Prescriptor";
    rx_token: "The prescription's code (from its QR code)", "El código de la receta (de su código QR)";
    rx_verify_button: "Verify", "Verificar";
    rx_pad_title: "Prescribe", "Recetar";
    note_renewal_requested: "A patient asked for a prescription to be renewed", "Un paciente pidió renovar una receta";
    note_renewal_answered: "Your renewal request was answered", "Se respondió a su petición de renovación";
    preferred_pharmacy: "Preferred pharmacy (prescriptions go there by default)", "Farmacia preferida (las recetas van allí por defecto)";
    preferred_pharmacy_none: "None: I take my copy to any pharmacy", "Ninguna: llevo mi copia a cualquier farmacia";
    rx_sending_queued: "Being sent to the pharmacy", "Enviándose a la farmacia";
    rx_sending_sent: "Sent to the pharmacy", "Enviada a la farmacia";
    rx_sending_failed: "Not yet sent to the pharmacy (retrying):", "Aún no enviada a la farmacia (se reintenta):";
    renewal_heading: "Renewal", "Renovación";
    renewal_pending: "asked, waiting for the prescriber", "pedida, pendiente de quien la prescribió";
    renewal_approved: "renewed", "renovada";
    renewal_denied: "not renewed", "no renovada";
    renewal_visit: "a visit is needed first", "primero hace falta una consulta";
    renewal_note: "Note for the prescriber (optional)", "Nota para quien la prescribió (opcional)";
    renewal_ask: "Ask for a renewal", "Pedir renovación";
    renewal_queue: "Renewal requests waiting for you", "Renovaciones pendientes de usted";
    renewal_renew: "Renew (open the pad)", "Renovar (abrir la receta)";
    renewal_reason: "Reason, for the patient", "Motivo, para el paciente";
    renewal_ask_visit: "Ask for a visit", "Pedir una consulta";
    renewal_deny: "Deny", "Denegar";
    rx_renewing: "Renewing at the patient's request: check and sign.", "Renovación a petición del paciente: compruebe y firme.";
    rx_drug: "Drug", "Medicamento";
    rx_drug_hint: "Type the name, then choose the product", "Escriba el nombre y elija el producto";
    rx_nothing_found: "No product of the catalogue has these words.", "Ningún producto del catálogo tiene estas palabras.";
    rx_free_text: "Not in the catalogue? Write it in words (not checked)", "¿No está en el catálogo? Escríbalo (sin comprobar)";
    rx_free_text_label: "Drug, strength and form", "Medicamento, concentración y forma";
    rx_free_text_hint: "Allergy, interaction and dose checks see only the ingredients its name names; the prescription carries a visible \"not checked\" flag.", "Las comprobaciones de alergias, interacciones y dosis solo ven los principios activos que nombra; la receta lleva la marca visible \"sin comprobar\".";
    rx_not_checked: "Not checked: written in words, not chosen from the catalogue", "Sin comprobar: escrito a mano, no elegido del catálogo";
    rx_dose: "Dose", "Dosis";
    rx_unit: "Unit", "Unidad";
    rx_route: "Route", "Vía";
    rx_frequency: "How often", "Frecuencia";
    rx_freq_once: "Once a day", "Una vez al día";
    rx_freq_twice: "Twice a day", "Dos veces al día";
    rx_freq_three: "Three times a day", "Tres veces al día";
    rx_freq_four: "Four times a day", "Cuatro veces al día";
    rx_freq_bedtime: "At bedtime", "Al acostarse";
    rx_freq_hours: "Every few hours", "Cada pocas horas";
    rx_freq_weekly: "Once a week", "Una vez a la semana";
    rx_every_hours: "Every how many hours", "Cada cuántas horas";
    rx_duration_days: "For how many days (empty: ongoing)", "Durante cuántos días (vacío: continuo)";
    rx_as_needed: "Only when needed, for", "Solo si lo necesita, para";
    rx_instructions: "Instructions", "Indicaciones";
    rx_dispensing: "Dispensing", "Dispensación";
    rx_quantity_unit: "Unit", "Unidad";
    rx_substitution: "A generic or equivalent may be dispensed", "Se puede dispensar un genérico o equivalente";
    rx_pharmacy: "Pharmacy", "Farmacia";
    rx_no_pharmacy: "None: the patient takes the copy to any pharmacy", "Ninguna: el paciente lleva la copia a cualquier farmacia";
    rx_note: "Note to the pharmacist", "Nota para farmacia";
    rx_no_findings: "The checks found nothing.", "Las comprobaciones no encontraron nada.";
    rx_override_reason: "Reason to sign over it", "Motivo para firmar pese a ello";
    rx_code: "Your second-factor code", "Su código del segundo factor";
    rx_sign: "Sign the prescription", "Firmar la receta";
    rx_signed: "Signed:", "Firmada:";
    rx_completed: "Fully dispensed: every fill has been dispensed", "Dispensada del todo: se han dispensado todas las repeticiones";
    rx_fills_heading: "Fills", "Entregas";
    rx_fills: "{done} of {allowed} fills dispensed in full", "{done} de {allowed} entregas completas";
    rx_dispense_heading: "Dispense fill", "Dispensar la entrega";
    rx_dispense_quantity: "Quantity handed over (less for a partial fill)", "Cantidad entregada (menos si es parcial)";
    rx_dispense_button: "Record the dispense", "Registrar la dispensación";
    rx_dispensed: "Dispensed {quantity} of fill {fill}.", "Dispensado {quantity} de la entrega {fill}.";
    nav_pharmacies: "Pharmacies", "Farmacias";
    nav_dispense: "Dispense", "Dispensar";
    pharmacies_title: "Pharmacies", "Farmacias";
    pharmacies_intro: "The pharmacies prescriptions are sent or taken to, and the pharmacists who dispense for each.", "Las farmacias a las que se envían o llevan las recetas, y quién dispensa en cada una.";
    pharmacy_inactive: "not in the directory", "fuera del directorio";
    pharmacy_name: "Name", "Nombre";
    pharmacy_address: "Address", "Dirección";
    pharmacy_phone: "Phone", "Teléfono";
    pharmacy_fhir: "FHIR endpoint (optional)", "Servidor FHIR (opcional)";
    pharmacy_in_directory: "In the directory", "En el directorio";
    pharmacy_pharmacists: "Pharmacists", "Farmacéuticos";
    pharmacy_add_pharmacist: "Add a pharmacist", "Añadir farmacéutico";
    pharmacy_add: "Add a pharmacy", "Añadir farmacia";
    add: "Add", "Añadir";
    email_time_zone: "Times in emails", "Horas en los correos";
    email_time_zone_unknown: "your clinician's time zone (sign in from a browser to use yours)", "la zona horaria de su profesional (inicie sesión desde un navegador para usar la suya)";
    chart_lab_report: "New lab report", "Nuevo informe de laboratorio";
    chart_lab_report_hint: "Groups lab results already in the chart (a panel, a laboratory's report), with its conclusion.", "Agrupa resultados de laboratorio ya registrados (un panel, el informe de un laboratorio), con su conclusión.";
    chart_lab_report_conclusion: "Conclusion", "Conclusión";
    demo_family_name: "Family name", "Apellidos";
    demo_given_names: "Given names", "Nombre";
    demo_birth_date: "Date of birth", "Fecha de nacimiento";
    demo_sex: "Sex", "Sexo";
    demo_phone: "Phone", "Teléfono";
    demo_address: "Address", "Dirección";
    demo_emergency: "Emergency contact", "Contacto de emergencia";
    not_given: "not given", "sin indicar";
    docs_upload: "Add a document or photo", "Añadir un documento o foto";
    docs_drop: "Drop a file here, or choose one.", "Suelte aquí un archivo o elija uno.";
    docs_file: "File", "Archivo";
    docs_title: "Title", "Título";
    docs_category: "Kind", "Tipo";
    docs_description: "Anything the clinician should know", "Algo que el profesional deba saber";
    docs_for_visit: "For the visit", "Para la visita";
    docs_no_visit: "No particular visit", "Ninguna visita en particular";
    docs_send: "Upload", "Subir";
    docs_uploading: "Uploading…", "Subiendo…";
    docs_done: "Uploaded.", "Subido.";
    docs_failed: "The upload failed. Check the file and try again.", "La subida falló. Revise el archivo e inténtelo de nuevo.";
    docs_hint: "Photos (JPEG, PNG, WebP, GIF), PDFs and DICOM images. Every file is stored encrypted.", "Fotos (JPEG, PNG, WebP, GIF), PDF e imágenes DICOM. Cada archivo se guarda cifrado.";
    docs_none: "No documents yet.", "Aún no hay documentos.";
    docs_download: "Download the original", "Descargar el original";
    docs_uploaded_by: "Uploaded by", "Subido por";
    docs_entered_in_error: "Filed by mistake", "Archivado por error";
    docs_mark_error: "Mark as filed by mistake", "Marcar como archivado por error";
    docs_window: "Window", "Ventana";
    docs_window_default: "As in the file", "Como en el archivo";
    docs_no_preview: "No preview for this image: download the original to open it in a DICOM viewer.", "Sin vista previa para esta imagen: descargue el original para abrirlo en un visor DICOM.";
    docs_open_pdf: "Open the PDF", "Abrir el PDF";
    dicom_study: "Study", "Estudio";
    dicom_series: "Series", "Serie";
    dicom_modality: "Modality", "Modalidad";
    dicom_name: "Name in the file", "Nombre en el archivo";
    dicom_date: "Study date", "Fecha del estudio";
    dicom_size: "Image size", "Tamaño de la imagen";
    cat_photo: "Photo", "Foto";
    cat_report: "Report", "Informe";
    cat_lab_report: "Lab report", "Informe de laboratorio";
    cat_scan: "Scanned record", "Documento escaneado";
    cat_imaging: "Imaging", "Imagen médica";
    cat_letter: "Letter", "Carta";
    cat_other: "Other", "Otro";
    notes_new: "Start a note", "Empezar una nota";
    notes_template: "Template", "Plantilla";
    notes_visit: "Visit", "Visita";
    notes_draft: "Draft", "Borrador";
    notes_signed: "Signed", "Firmada";
    notes_subjective: "Subjective", "Subjetivo";
    notes_objective: "Objective", "Objetivo";
    notes_assessment: "Assessment", "Evaluación";
    notes_plan: "Plan", "Plan";
    notes_save: "Save draft", "Guardar borrador";
    notes_sign: "Sign the note", "Firmar la nota";
    notes_sign_confirm: "Once signed, the note cannot be changed; corrections become addenda. Sign now?", "Una vez firmada, la nota no puede cambiarse; las correcciones serán adendas. ¿Firmar ahora?";
    notes_addenda: "Addenda", "Adendas";
    notes_add_addendum: "Add an addendum", "Añadir una adenda";
    notes_locked: "This note is signed and locked. Corrections are added as signed addenda.", "Esta nota está firmada y bloqueada. Las correcciones se añaden como adendas firmadas.";
    notes_by: "by", "por";
    notes_none: "No notes yet.", "Aún no hay notas.";
    notes_saved: "Draft saved.", "Borrador guardado.";
    notes_title: "Visit note", "Nota de visita";
    export_title: "Download my record", "Descargar mi historia";
    export_pdf: "Readable copy (PDF)", "Copia legible (PDF)";
    export_json: "Data file (JSON)", "Archivo de datos (JSON)";
    bg_title: "Emergency access", "Acceso de emergencia";
    bg_intro: "You have no care relationship with this patient. In an emergency you may open the record for a limited time. State why: the access is flagged in the audit trail and the patient is told.", "No tiene relación asistencial con este paciente. En una emergencia puede abrir la historia por un tiempo limitado. Indique el motivo: el acceso queda marcado en la auditoría y se avisa al paciente.";
    bg_reason: "Reason", "Motivo";
    bg_open: "Open the record", "Abrir la historia";
    bg_active: "Emergency access until", "Acceso de emergencia hasta";
    oauth_title: "Allow an app?", "¿Permitir una aplicación?";
    oauth_intro: "This app asks to use your telemed account with these permissions:", "Esta aplicación pide usar su cuenta de telemed con estos permisos:";
    oauth_patient_only: "It will see your own record only.", "Solo verá su propia historia.";
    oauth_user_wide: "It will see what you may see in telemed, under the same rules and audit.", "Verá lo que usted puede ver en telemed, con las mismas reglas y auditoría.";
    oauth_offline: "It may keep access while you are away, until you revoke it.", "Podrá mantener el acceso aunque usted no esté conectado, hasta que lo revoque.";
    oauth_allow: "Allow", "Permitir";
    oauth_deny: "Deny", "Denegar";
    oauth_sends_to: "You will be sent back to", "Volverá a";
    oauth_unknown_client: "This app is not registered with this clinic.", "Esta aplicación no está registrada en esta clínica.";
    oauth_bad_redirect: "This app asked to send you to an address it did not register.", "Esta aplicación pidió enviarle a una dirección que no registró.";
    scope_read: "read", "leer";
    scope_search: "search", "buscar";
    scope_create: "create", "crear";
    scope_update: "change", "modificar";
    scope_delete: "delete", "borrar";
    scope_all_data: "all record data", "todos los datos de la historia";
    scope_identity: "know who you are", "saber quién es usted";
    apps_title: "Connected apps", "Aplicaciones conectadas";
    apps_intro: "Apps you allowed to use your account through the FHIR API. Revoking ends their access at once.", "Aplicaciones a las que permitió usar su cuenta mediante la API FHIR. Al revocar, su acceso termina de inmediato.";
    apps_admin_title: "Apps (OAuth clients)", "Aplicaciones (clientes OAuth)";
    apps_admin_intro: "Apps registered here may ask patients and clinicians for access to the FHIR API (SMART App Launch, authorization code with PKCE).", "Las aplicaciones registradas aquí pueden pedir a pacientes y profesionales acceso a la API FHIR (SMART App Launch, código de autorización con PKCE).";
    apps_name: "Name", "Nombre";
    apps_redirects: "Redirect URIs (one per line)", "URI de redirección (una por línea)";
    apps_scopes: "Scopes it may ask for", "Permisos que puede pedir";
    apps_confidential: "Confidential (a server that keeps a secret)", "Confidencial (un servidor que guarda un secreto)";
    apps_register: "Register", "Registrar";
    apps_registered: "Registered. The client id, and the secret (shown once):", "Registrada. El identificador de cliente y el secreto (se muestra una sola vez):";
    apps_disable: "Disable", "Desactivar";
    apps_disabled: "disabled", "desactivada";
    apps_granted: "Allowed on", "Permitida el";
    nav_apps: "Apps", "Aplicaciones";
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn picks_language_by_quality() {
        assert_eq!(
            Lang::from_accept_language(Some("es-MX,es;q=0.9,en;q=0.8")),
            Lang::Es
        );
        assert_eq!(
            Lang::from_accept_language(Some("fr-FR,en;q=0.5,es;q=0.7")),
            Lang::Es
        );
        assert_eq!(Lang::from_accept_language(Some("de")), Lang::En);
        assert_eq!(Lang::from_accept_language(None), Lang::En);
    }

    #[test]
    fn spanish_is_really_translated() {
        assert_ne!(Lang::En.texts().sign_in, Lang::Es.texts().sign_in);
    }
}
