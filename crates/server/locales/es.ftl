# telemed en español. Las mismas claves que en.ftl; variables como { $name }.

language_name = Español

skip_to_content = Saltar al contenido
nav_home = Inicio
nav_menu = Menú
nav_account = Cuenta
nav_users = Usuarios
nav_audit = Registro de auditoría
nav_outbox = Correo saliente
nav_access_log = Quién vio mi historia
sign_in = Iniciar sesión
sign_out = Cerrar sesión
register = Crear una cuenta
language = Idioma
change = Cambiar
save = Guardar
email = Correo electrónico
password = Contraseña
new_password = Nueva contraseña
display_name = Nombre completo
password_hint = Al menos 10 caracteres. Unas palabras sin relación entre sí funcionan bien.
login_title = Inicie sesión en telemed
forgot_link = ¿Olvidó su contraseña?
new_patient = ¿Paciente nuevo?
login_failed = El correo o la contraseña no son correctos.
too_many_attempts = Demasiados intentos. Espere unos minutos y vuelva a intentarlo.
login_unverified = Primero confirme su correo: le enviamos un enlace nuevo.
account_disabled = Esta cuenta está desactivada. Contacte con la clínica.
signed_out_idle = Se cerró su sesión por inactividad.
login_code_link = Prefiero recibir un código por correo
code_title = Entrar con un código
code_intro = Los pacientes pueden entrar sin su contraseña: enviamos un código de seis dígitos a la dirección de su cuenta (o por mensaje de texto, si lo eligió en su cuenta).
code_send = Enviarme un código
code_sent = Si esta dirección tiene una cuenta de paciente, le enviamos un código (por correo, o por mensaje de texto si lo eligió). Vale una vez, durante 10 minutos.
code_label = Código recibido
code_by_email = Enviar un código nuevo por correo electrónico
code_resend = Enviar otro código
code_failed = Ese código no es correcto o ha caducado. Mire el correo más reciente o pida otro código.
code_use_password = Entrar con su contraseña
code_new_title = Ver a un profesional ahora
code_new_intro = ¿Es nuevo? Indique su nombre y su correo: le enviamos un código y con él entra. Podrá elegir una contraseña después, en su cuenta.
code_have_account = ¿Ya es paciente aquí?
care_now = ¿Necesita atención hoy?
mfa_title = Verificación en dos pasos
mfa_prompt = Escriba el código de 6 dígitos de su aplicación de autenticación o uno de sus códigos de recuperación.
mfa_code = Código
mfa_failed = Ese código no es correcto.
verify = Verificar
register_title = Cree su cuenta de paciente
register_button = Crear cuenta
register_sent = Revise su correo: le enviamos un enlace para confirmar su dirección.
verify_ok = Su correo está confirmado. Ya puede iniciar sesión.
link_invalid = Este enlace no es válido o ha caducado.
forgot_title = Restablecer la contraseña
forgot_button = Enviar enlace
forgot_sent = Si existe una cuenta con esta dirección, le enviamos un enlace para restablecer la contraseña.
reset_title = Elija una contraseña nueva
reset_done = Su contraseña se cambió y se cerraron sus otras sesiones. Inicie sesión con la nueva contraseña.
invite_title = Únase a la clínica
invite_intro = Le invitaron a telemed con el rol:
invite_button = Crear mi cuenta
invite_done = Su cuenta está lista. Inicie sesión y configure la verificación en dos pasos.
home_title = Bienvenido
home_intro = Ha iniciado sesión en telemed.
account_title = Su cuenta
role = Rol
specialty = Especialidad
on = Activada
off = Desactivada
mfa_set_up = Configurar
mfa_turn_off = Desactivar
mfa_setup_title = Configure la verificación en dos pasos
mfa_setup_steps = Escanee este código con una aplicación de autenticación o escriba la clave en ella. Luego escriba el código de 6 dígitos que muestra.
mfa_key = Clave
mfa_turn_on = Activar
mfa_required = Su rol requiere la verificación en dos pasos. Configúrela para continuar.
recovery_title = Sus códigos de recuperación
recovery_intro = Guarde estos códigos en un lugar seguro. Cada uno le permite entrar una vez si pierde su teléfono. No se vuelven a mostrar.
recovery_left = Códigos de recuperación restantes
continue_label = Continuar
sessions_title = Dispositivos con sesión iniciada
this_device = Este dispositivo
signed_in_at = Inicio de sesión
last_active = Última actividad
address = Dirección
sign_out_everywhere = Cerrar sesión en todas partes
tokens_title = Tokens de API
tokens_intro = Los tokens permiten que otros programas usen la API de telemed en su nombre, dentro de los permisos que elija.
token_name = Nombre
token_scopes = Permisos
token_days = Válido durante (días)
token_create = Crear token
token_created = Copie este token ahora: no se vuelve a mostrar.
expires = Caduca
last_used = Último uso
revoke = Revocar
nothing_yet = Nada todavía.
users_title = Usuarios
search = Buscar
any_role = Cualquier rol
status = Estado
active = Activo
disabled = Desactivado
disable = Desactivar
enable = Activar
set_role = Cambiar rol
invite_heading = Invitar a un profesional o a personal
invite_send = Enviar invitación
invite_sent = Invitación enviada.
invitations = Invitaciones
pending = Pendiente
accepted = Aceptada
revoked = Revocada
expired = Caducada
role_patient = Paciente
role_clinician = Profesional clínico
role_staff = Personal de recepción
role_admin = Administrador
role_pharmacist = Farmacéutico
outbox_title = Correo saliente
outbox_intro = Todo correo que envía telemed pasa por aquí. Sin servidor SMTP (demo), los mensajes se quedan aquí para leerlos.
to = Para
subject = Asunto
queued = En cola
sent = Enviado
audit_title = Registro de auditoría
audit_intro = Cada inicio de sesión, cambio de cuenta y acceso a datos de pacientes, en una cadena a prueba de manipulación.
when = Cuándo
who = Quién
action = Acción
patient = Paciente
outcome = Resultado
request = Solicitud
filter = Filtrar
older = Entradas anteriores
verify_chain = Verificar la cadena
chain_ok = La cadena está intacta.
chain_broken = La cadena está rota en la entrada
entries = entradas
access_log_title = Quién vio mi historia
proxies_title = Acceso de representantes
proxies_to_me = Invitaciones para usted
proxies_to_me_none = Ninguna invitación espera su respuesta.
proxy_whose_record = Historia de
proxy_relationship = Relación
proxy_expires = Responder antes del
proxy_since = Desde
proxy_accept = Aceptar
proxy_decline = Rechazar
proxies_mine = Quién puede ver mi historia
proxies_explain = Un representante (un familiar, un cuidador) lee su historia y añade documentos en su nombre, con su propia cuenta de paciente. Solo accede cuando acepta su invitación.
proxies_none = Nadie más puede ver su historia.
proxies_none_patient = Nadie tiene acceso de representante a esta historia.
proxies_of_patient = Quién puede ver la historia de este paciente en su nombre
proxies_waiting = Invitaciones pendientes de respuesta
proxy_remove = Quitar el acceso
proxy_withdraw = Retirar
proxy_invite = Invitar a un representante
proxy_send = Enviar invitación
proxy_invite_hint = Enviamos un enlace a esa dirección. La persona inicia sesión (o se registra como paciente) con esa dirección para aceptar.
proxy_invited = Invitación enviada.
proxy_removed = Hecho: ese acceso o invitación ya no existe.
proxy_accepted = Aceptada: ya puede abrir esa historia.
proxy_declined = Rechazada.
proxy_not_found = Esa invitación o acceso ya no existe (respondida, retirada o caducada).
access_log_intro = Cada vez que alguien de la clínica abre su historia, aparece aquí.
months_short = ene, feb, mar, abr, may, jun, jul, ago, sep, oct, nov, dic
months = enero, febrero, marzo, abril, mayo, junio, julio, agosto, septiembre, octubre, noviembre, diciembre
weekdays_in_dates = lunes, martes, miércoles, jueves, viernes, sábado, domingo
weekdays_short = lun, mar, mié, jue, vie, sáb, dom
date_long = { $weekday } { $day } de { $month } de { $year }
date_long_no_year = { $weekday } { $day } de { $month }
date_short = { $wd } { $day } { $mon } { $year }
date_short_no_year = { $wd } { $day } { $mon }
date_plain = { $day } { $mon } { $year }
date_plain_no_year = { $day } { $mon }
st_active = activo
st_recurrence = recurrencia
st_relapse = recaída
st_inactive = inactivo
st_remission = remisión
st_resolved = resuelto
st_unstated = estado no indicado
st_stopped = suspendido
st_completed = completado
st_intended = previsto
st_on_hold = en pausa
st_not_taken = no tomado
st_not_done = no administrada
st_registered = registrado
st_partial = parcial
st_preliminary = preliminar
st_final = definitivo
st_amended = modificado
st_corrected = corregido
st_appended = ampliado
st_cancelled = cancelado
st_unknown = estado desconocido
st_entered_in_error = registrado por error
ver_unconfirmed = NO CONFIRMADO
ver_provisional = PROVISIONAL
ver_differential = DIFERENCIAL
ver_confirmed = confirmado
ver_refuted = DESCARTADO
sev_mild = leve
sev_moderate = moderada
sev_severe = grave
crit_low = baja
crit_high = alta
crit_unable = no evaluable
el_sent_as = enviado como { $value }
el_reference = referencia { $low }–{ $high }
el_out_of_range = fuera de rango
el_criticality = criticidad { $value }
el_report_of = informe de { $count ->
        [one] un resultado
       *[other] { $count } resultados
    }
el_until = hasta
browser = Navegador
copy = Copiar
week_nav = Semanas
day_nav = Días
day_today = Hoy
day_waiting = esperando ahora
day_no_visits = Hoy no hay citas.
day_unread = Mensajes sin leer
day_no_unread = Nada sin leer.
call_timer = Tiempo en la llamada
call_to_change = A menos de { $hours ->
        [one] una hora
       *[other] { $hours } horas
    } de la cita ya no se puede cambiar ni cancelar en línea: llame a la clínica.
clinic_phone = Teléfono:
next_steps = Antes de la cita: compruebe abajo la cámara, el micrófono y el altavoz, y después registre su llegada. El botón para entrar aparece al registrarse.
tpl_general = Consulta general
tpl_general_s =
    Motivo de consulta:
    Enfermedad actual:
tpl_general_o =
    Observado en vídeo:
    Constantes referidas:
tpl_general_p =
    Tratamiento:
    Seguimiento:
tpl_dermatology = Dermatología
tpl_dermatology_s =
    Historia de la lesión (inicio, cambios, síntomas):
tpl_dermatology_o =
    Localización:
    Morfología (tamaño, color, borde):
    Fotos revisadas:
tpl_dermatology_p =
    Tratamiento:
    Biopsia / derivación:
    Foto de control en:
tpl_psychiatry = Psiquiatría
tpl_psychiatry_s =
    Ánimo y sueño:
    Factores de estrés:
    Riesgo (autolesión/terceros):
tpl_psychiatry_o =
    Exploración del estado mental:
    Escalas (PHQ-9, GAD-7):
tpl_psychiatry_p =
    Terapia:
    Medicación:
    Plan de seguridad:
    Seguimiento:
tpl_cardiology = Cardiología
tpl_cardiology_s =
    Dolor torácico, disnea, palpitaciones, síncope:
tpl_cardiology_o =
    Tensión arterial y frecuencia cardiaca en casa:
    ECG revisado:
tpl_cardiology_p =
    Medicación:
    Pruebas:
    Seguimiento:
al_when = { $date } a las { $time }
al_what = Qué
al_allowed = hecho
al_refused = denegado
al_failed = fallido
al_section_read = abrió su historia: { $section }
al_section_write = anotó en su historia: { $section }
al_chart_read = abrió su historia clínica
al_access_log_read = consultó quién vio su historia
al_export = exportó una copia de su historia
al_document_open = abrió un documento de su historia
al_note_sign = firmó una nota de visita
al_note_addendum = añadió una adenda a una nota de visita
al_break_glass = abrió su historia en una emergencia (acceso de urgencia)
al_care_team_add = añadió a alguien a su equipo de atención
al_proxy_invite = invitó a alguien a ser su representante
al_proxy_accept = aceptó el acceso de representante a su historia
al_proxy_decline = rechazó el acceso de representante a su historia
al_proxy_revoke = retiró el acceso de un representante a su historia
al_proxy_withdraw = retiró una invitación de representante
al_proxy_list = consultó quién tiene acceso de representante
al_visit_admit = le hizo pasar a la videoconsulta
al_visit_enter = entró en la videoconsulta
al_visit_leave = salió de la videoconsulta
al_visit_end = terminó la videoconsulta
al_visit_chat = escribió en el chat de la videoconsulta
al_visit_record = abrió el registro de una videoconsulta
al_visit_invite = invitó a un acompañante a una videoconsulta
al_visit_invite_used = entró como acompañante en una videoconsulta
al_visit_invite_revoke = retiró la invitación de un acompañante
al_consent = aceptó el consentimiento de telemedicina
al_appointment_book = reservó una consulta
al_appointment_cancel = canceló una consulta
al_appointment_move = cambió una consulta de hora
al_appointment_check_in = registró la llegada a una consulta
al_appointment_noshow = marcó una consulta como no acudida
al_appointment_noshow_undo = deshizo una consulta no acudida
al_appointment_fulfil = completó una consulta
al_appointment_read = consultó sus consultas
al_on_demand_join = pidió ser atendido ahora
al_on_demand_withdraw = dejó de esperar para ser atendido ahora
al_start_now = inició una videoconsulta con usted
note_start_now = Su profesional le espera ahora en una videoconsulta
sn_title = Atender al paciente ahora
sn_reason = Motivo, para el paciente
sn_start = Iniciar una videoconsulta ahora
sn_hint = Se avisa al paciente de inmediato, en la aplicación y por correo, con un enlace a la consulta.
al_on_demand_take = le atendió desde la cola de atención inmediata
al_message_read = leyó sus mensajes
al_message_send = envió un mensaje
al_thread_create = inició una conversación
al_thread_route = pasó una conversación a un profesional
al_attachment_read = abrió un archivo enviado en un mensaje
al_prescription_sign = firmó una receta
al_prescription_pdf = imprimió una receta
al_prescription_send = envió una receta a una farmacia
al_prescription_dispense = dispensó una receta
al_prescription_verify = comprobó una receta
al_prescription_change = modificó una receta
al_renewal_request = pidió la renovación de una receta
al_renewal_answer = respondió a una petición de renovación
al_other = usó su historia
error_title = Algo salió mal
error_reference = Referencia
back_home = Volver al inicio
err_not_found = No encontramos esa página.
err_forbidden = No tiene permiso para hacer esto.
err_invalid = La solicitud no era válida.
err_too_large = Lo que envió es demasiado grande.
err_quota = Este archivo no cabe: sus archivos ocupan { $used } MB de los { $quota } MB que puede guardar. Borre los adjuntos sin enviar o pida más espacio a la clínica.
storage = Almacenamiento
storage_of = { $used } MB de { $quota } MB
storage_unlimited = { $used } MB (sin cuota)
storage_unsent = { $n } sin enviar
storage_total = Archivos guardados por todos: { $used } MB en { $files } archivos.
err_internal = Ocurrió un error de nuestra parte. Vuelva a intentarlo.
err_session_form = El formulario caducó. Recargue la página y vuelva a intentarlo.
err_email = Escriba un correo electrónico válido.
err_password_short = Use al menos 10 caracteres.
err_password_weak = Esta contraseña es demasiado común o fácil de adivinar. Pruebe con unas palabras sin relación.
err_name = Escriba un nombre de 1 a 100 caracteres.
nav_book = Reservar una cita
nav_appointments = Mis citas
nav_calendar = Agenda
book_title = Buscar un profesional
any = Cualquiera
visit_kind = Tipo de visita
kind_video = Videollamada
kind_audio = Teléfono (solo audio)
kind_messaging = Mensajes
languages = Idiomas
region_label = Dónde está (código de región, p. ej. ES-MD)
next_available = Próxima disponibilidad
see_times = Ver horarios
no_clinicians = Ningún profesional coincide. Pruebe con menos filtros.
none_available = Sin horas libres en los próximos 31 días
times_in = Horas en
prev_week = Semana anterior
next_week = Semana siguiente
no_slots = No hay horas libres esta semana.
day_no_times = No hay horas libres este día.
day_strip_none = ninguna
days_nav = Días de la semana
part_morning = Mañana
part_afternoon = Tarde
part_evening = Tarde-noche
free_times_count =
    { $count ->
        [one] una hora
       *[other] { $count } horas
    }
confirm_title = Confirme su cita
reason_label = Motivo de la consulta
confirm_button = Reservar esta cita
fee = Tarifa
duration = Duración
minutes = min
booked_notice = Su cita está reservada.
cancelled_notice = La cita está cancelada.
upcoming = Próximas
past = Pasadas
cancel_visit = Cancelar cita
cancel_reason = Motivo (se envía al paciente)
calendar_title = Citas
clinician = Profesional
status_proposed = Propuesta
status_booked = Reservada
status_arrived = En la sala de espera
status_fulfilled = Realizada
status_cancelled = Cancelada
status_noshow = No asistió
status_error = Registrada por error
previous_day = Día anterior
next_day = Día siguiente
add_to_calendar = Añadir al calendario
feed_title = Suscripción para su aplicación de calendario
feed_intro = Suscríbase a este enlace privado en su aplicación de calendario para ver allí sus citas. Muestra horas y un enlace, nunca nombres de pacientes. Crear un enlace nuevo anula el anterior.
feed_new = Crear un enlace nuevo
nav_notifications = Avisos
nav_waiting_room = Sala de espera
moved_notice = Su cita tiene una hora nueva.
move_visit = Cambiar hora
move_title = Elija una hora nueva
move_current = Reservada ahora para
move_button = Mover la cita a esta hora
move_reason = Motivo (se envía al paciente)
undo_noshow = Deshacer «no asistió»
waiting_room_link = Sala de espera
waiting_title = Sala de espera virtual
device_check = Compruebe su equipo
device_intro = Antes de la cita, compruebe que su cámara, micrófono, altavoz y conexión funcionan. No se graba ni se envía nada.
check_camera = Probar cámara y micrófono
camera = Cámara
microphone = Micrófono
speaker = Altavoz
connection = Conexión
play_sound = Reproducir un sonido de prueba
heard_it = Lo oí
not_checked = Aún sin comprobar
speak_hint = Hable: la barra se mueve cuando el micrófono le oye.
check_in = Registrar llegada
check_in_opens = El registro de llegada se abre a las
checked_in_since = Está registrado desde las
checked_in_hint = Su profesional le ve en la cola y comenzará la cita. Mantenga esta página abierta.
visit_closed = Esta cita terminó o ya no está reservada.
queue_title = Sala de espera
queue_empty = Nadie espera ni tiene cita en la próxima hora.
queue_waiting = Esperando
queue_due = Pendiente
queue_late = Con retraso
queue_too_long = Espera demasiado larga
queue_live = Esta lista se actualiza sola.
starts = Empieza
minutes_waiting = min de espera
mark_all_read = Marcar todo como leído
no_notifications = No hay avisos.
note_booked = Cita reservada
note_reminder = Recordatorio de cita
note_cancelled = Cita cancelada
note_rescheduled = Cita cambiada de hora
note_patient_cancelled = Un paciente canceló una cita
note_patient_rescheduled = Un paciente cambió la hora de una cita
note_patient_booked = Un paciente reservó una cita con usted
note_other = Novedad
dc_ok = Funciona
dc_fail = No funciona
nav_schedule = Disponibilidad
nav_schedules = Horarios
nav_book_for = Reservar para un paciente
schedules_title = Horarios de los profesionales
schedule_title = Disponibilidad
saved_notice = Guardado. Los pacientes ya ven los nuevos horarios.
profile = Perfil
languages_codes = Idiomas que habla (códigos, p. ej. en es)
regions_codes = Habilitado en (códigos de región, p. ej. ES-MD US-NY)
bio = Sobre usted (lo ven los pacientes)
weekly_hours = Horario semanal
hours_hint = Hora local de su zona. Varios tramos: 09:00-13:00, 15:00-18:00. Vacío: cerrado.
time_zone = Zona horaria
weekdays = Lunes, Martes, Miércoles, Jueves, Viernes, Sábado, Domingo
exceptions = Excepciones
exceptions_hint = Una por línea: 2026-12-24 closed · 2026-12-28 2026-12-31 closed · 2027-01-09 10:00-13:00 (horas extra)
booking_rules = Reglas de reserva
buffer_minutes = Pausa entre citas (min)
horizon_days = Reservable con hasta (días de antelación)
min_notice_minutes = Antelación mínima (min)
visit_types = Tipos de visita
offered = Ofrecida
currency = Moneda
preview_title = Horas libres en los próximos 7 días
patient_email = Correo del paciente
day_view = Vista de día
mark_done = Marcar como realizada
nav_messages = Mensajes
new_message = Mensaje nuevo
inbox = Bandeja de entrada
archived = Archivados
archive = Archivar
no_messages = No hay mensajes.
unread = sin leer
clinic_inbox = Buzón de la clínica
seen = Visto
your_message = Su mensaje
send = Enviar
attach_files = Adjuntar fotos o PDF (hasta 5, de 10 MB cada uno)
err_file_type = Envíe imágenes (PNG, JPEG, GIF, WebP) o archivos PDF.
open_file = Abrir
route_to = Pasar a
route = Pasar
message_to = Para
the_clinic = La clínica (recepción)
note_message = Mensaje nuevo
note_routed = Le pasaron una conversación
note_emergency_access = Un profesional abrió su historia clínica en una urgencia (vea quién y cuándo en su registro de accesos)
prefs_title = Cómo le llegan los avisos
prefs_intro = Siempre verá los avisos aquí. Elija cuáles le llegan también por correo o, donde se ofrezca, por mensaje de texto; nunca llevan datos clínicos, solo un enlace.
email_visits = Citas: confirmaciones, recordatorios y cambios
email_messages = Mensajes seguros nuevos
saved = Guardado.
week_view = Vista de semana
room_title = Visita por video
room_with = con
room_connecting = Conectando…
room_waiting = Está en la sala de espera. El profesional le dará paso en breve.
room_in_call = En la llamada
room_ended = La visita ha terminado.
room_reconnecting = Se perdió la conexión; reconectando…
room_you = Usted
room_mute = Silenciar
room_unmute = Activar micrófono
room_camera_off = Apagar cámara
room_camera_on = Encender cámara
room_share = Compartir pantalla
room_stop_share = Dejar de compartir
room_audio_only = Solo audio
room_video_back = Con video
room_end = Terminar visita
room_leave = Salir
room_admit = Dar paso
room_waiting_list = Esperando para entrar
room_nobody_waiting = Nadie está esperando.
room_invite = Invitar a alguien a la llamada
room_invite_label = Quién es (p. ej. Intérprete, Hija)
room_invite_make = Crear enlace
room_invite_hint = Envíele este enlace; sirve una sola vez y solo para esta visita.
room_revoke = Revocar
room_chat = Chat
room_chat_placeholder = Escriba un mensaje
room_quality = Conexión
room_quality_good = buena
room_quality_fair = regular
room_quality_poor = mala
room_summary = Resumen de la historia
room_reason = Motivo de la visita
room_visits = Visitas
room_consent = Consentimiento de telesalud
room_no_consent = No otorgado
room_kind_patient = Paciente
room_kind_clinician = Profesional
room_kind_guest = Invitado
room_join = Entrar a la visita por video
room_devices = Cámara y micrófono
consent_title = Consentimiento de telesalud
consent_p1 = Su visita se realiza por video en vivo entre su dispositivo y el de su profesional. El video y el sonido van directamente entre los dispositivos, cifrados; telemed no los graba.
consent_p2 = Una visita por video tiene límites: el profesional no puede examinarle en persona y puede pedirle que acuda a la clínica o a urgencias. En una emergencia, llame al número de emergencias local.
consent_p3 = La clínica guarda un registro de la visita (inicio y fin, quién participó, el chat y la calidad de la conexión) con su historia clínica.
consent_p4 = Puede retirar este consentimiento en cualquier momento y pedir una visita presencial.
consent_accept = Acepto
consent_changed = La clínica publicó una nueva versión de este consentimiento mientras lo leía: léalo de nuevo, por favor.
consent_version = Versión
consents_title = Consentimientos
join_title = Entrar a una visita por video
join_intro = Le invitan a una visita por video con
join_as = Entra como
join_hint = El profesional le dará paso desde la sala de espera. Este enlace sirve una sola vez.
join_button = Entrar
record_title = Registro de la visita
record_started = Inicio
record_ended = Fin
record_duration = Duración
record_attendance = Quién participó
record_joined = Entró
record_left = Salió
record_quality = Calidad de la llamada
record_rtt = Ida y vuelta
record_loss = Pérdida de paquetes
record_bitrate = Tasa de bits
record_relayed = A través de un relé (TURN)
record_no_quality = Sin informes de calidad.
record_yes = sí
record_no = no
record_open = Ver el registro de la visita
nav_record = Mi historia
chart_title = Historia clínica
chart_open = Abrir la historia
chart_summary = Resumen
chart_nothing = Nada registrado.
chart_recent_visits = Visitas recientes
chart_latest_vitals = Últimos signos vitales
chart_add_entry = Añadir a la historia
chart_section = Sección
chart_code_system = Sistema de códigos
chart_code = Código
chart_text = Descripción
chart_value = Valor
chart_value2 = Segundo valor (diastólica)
chart_unit = Unidad
chart_date = Fecha
chart_severity = Gravedad
chart_reaction = Reacción
chart_dosage = Posología
chart_relation = Familiar
chart_range_low = Rango de referencia desde
chart_range_high = hasta
chart_note_field = Nota
chart_add = Añadir
chart_entry_hint = Elija la sección y busque el código escribiendo palabras ("dermatitis", "frecuencia cardiaca"): la descripción se completa con la del código elegido si se deja vacía, y la unidad de un signo vital siempre.
chart_latest_only = Se muestran los 100 más recientes; la descarga del archivo de datos y la API los tienen todos.
chart_added = Añadido a la historia.
sec_demographics = Datos personales y contactos
sec_problems = Problemas
sec_allergies = Alergias e intolerancias
sec_medications = Medicación
sec_immunizations = Vacunas
sec_vitals = Signos vitales
sec_labs = Resultados de laboratorio
sec_history = Antecedentes familiares y sociales
sec_notes = Notas de visita
sec_documents = Documentos e imágenes
sec_prescriptions = Recetas
rx_verify_title = Verificar una receta
rx_none = Sin recetas.
rx_active = activa
rx_not_active = no dispensar
rx_valid = Válida: firmada por esta clínica, sin alterar, vigente y activa
rx_expired = Caducada: firmada por esta clínica, pero ya no vigente
rx_ended = No dispensar: finalizada por quien la prescribió
rx_medication = Medicamento
rx_sig = Cómo tomarlo
rx_quantity = Cantidad
rx_refills = Repeticiones
rx_patient = Paciente (iniciales · año de nacimiento)
rx_prescriber = Prescriptor
rx_token = El código de la receta (de su código QR)
rx_verify_button = Verificar
rx_pad_title = Recetar
note_renewal_requested = Un paciente pidió renovar una receta
note_renewal_answered = Se respondió a su petición de renovación
preferred_pharmacy = Farmacia preferida (las recetas van allí por defecto)
preferred_pharmacy_none = Ninguna: llevo mi copia a cualquier farmacia
rx_sending_queued = Enviándose a la farmacia
rx_sending_sent = Enviada a la farmacia
rx_sending_failed = Aún no enviada a la farmacia (se reintenta):
renewal_heading = Renovación
renewal_pending = pedida, pendiente de quien la prescribió
renewal_approved = renovada
renewal_denied = no renovada
renewal_visit = primero hace falta una consulta
renewal_note = Nota para quien la prescribió (opcional)
renewal_ask = Pedir renovación
renewal_queue = Renovaciones pendientes de usted
renewal_renew = Renovar (abrir la receta)
renewal_reason = Motivo, para el paciente
renewal_ask_visit = Pedir una consulta
renewal_deny = Denegar
rx_renewing = Renovación a petición del paciente: compruebe y firme.
rx_drug = Medicamento
rx_drug_hint = Escriba el nombre y elija el producto
rx_nothing_found = Ningún producto del catálogo tiene estas palabras.
rx_free_text = ¿No está en el catálogo? Escríbalo (sin comprobar)
rx_free_text_label = Medicamento, concentración y forma
rx_free_text_hint = Las comprobaciones de alergias, interacciones y dosis solo ven los principios activos que nombra; la receta lleva la marca visible "sin comprobar".
rx_not_checked = Sin comprobar: escrito a mano, no elegido del catálogo
rx_dose = Dosis
rx_unit = Unidad
rx_route = Vía
rx_frequency = Frecuencia
rx_freq_once = Una vez al día
rx_freq_twice = Dos veces al día
rx_freq_three = Tres veces al día
rx_freq_four = Cuatro veces al día
rx_freq_bedtime = Al acostarse
rx_freq_hours = Cada pocas horas
rx_freq_weekly = Una vez a la semana
rx_every_hours = Cada cuántas horas
rx_duration_days = Durante cuántos días (vacío: continuo)
rx_as_needed = Solo si lo necesita, para
rx_instructions = Indicaciones
rx_dispensing = Dispensación
rx_quantity_unit = Unidad
rx_substitution = Se puede dispensar un genérico o equivalente
rx_pharmacy = Farmacia
rx_no_pharmacy = Ninguna: el paciente lleva la copia a cualquier farmacia
rx_note = Nota para farmacia
rx_no_findings = Las comprobaciones no encontraron nada.
rx_override_reason = Motivo para firmar pese a ello
rx_code = Su código del segundo factor
rx_sign = Firmar la receta
rx_signed = Firmada:
rx_completed = Dispensada del todo: se han dispensado todas las repeticiones
rx_fills_heading = Entregas
rx_fills = { $done } de { $allowed } { $allowed ->
        [one] entrega completa
       *[other] entregas completas
    }
rx_dispense_heading = Dispensar la entrega
rx_dispense_quantity = Cantidad entregada (menos si es parcial)
rx_dispense_button = Registrar la dispensación
rx_dispensed = Dispensado { $quantity } de la entrega { $fill }.
nav_pharmacies = Farmacias
nav_dispense = Dispensar
pharmacies_title = Farmacias
pharmacies_intro = Las farmacias a las que se envían o llevan las recetas, y quién dispensa en cada una.
pharmacy_inactive = fuera del directorio
pharmacy_name = Nombre
pharmacy_address = Dirección
pharmacy_phone = Teléfono
pharmacy_fhir = Servidor FHIR (opcional)
pharmacy_in_directory = En el directorio
pharmacy_pharmacists = Farmacéuticos
pharmacy_add_pharmacist = Añadir farmacéutico
pharmacy_add = Añadir farmacia
add = Añadir
email_time_zone = Horas en los correos
email_time_zone_unknown = la zona horaria de su profesional (inicie sesión desde un navegador para usar la suya)
chart_lab_report = Nuevo informe de laboratorio
chart_lab_report_hint = Agrupa resultados de laboratorio ya registrados (un panel, el informe de un laboratorio), con su conclusión.
chart_lab_report_conclusion = Conclusión
demo_family_name = Apellidos
demo_given_names = Nombre
demo_birth_date = Fecha de nacimiento
demo_sex = Sexo
demo_phone = Teléfono
demo_address = Dirección
demo_emergency = Contacto de emergencia
not_given = sin indicar
docs_upload = Añadir un documento o foto
docs_drop = Suelte aquí un archivo o elija uno.
docs_file = Archivo
docs_title = Título
docs_category = Tipo
docs_description = Algo que el profesional deba saber
docs_for_visit = Para la visita
docs_no_visit = Ninguna visita en particular
docs_send = Subir
docs_uploading = Subiendo…
docs_done = Subido.
docs_failed = La subida falló. Revise el archivo e inténtelo de nuevo.
docs_hint = Fotos (JPEG, PNG, WebP, GIF), PDF e imágenes DICOM. Cada archivo se guarda cifrado.
docs_none = Aún no hay documentos.
docs_download = Descargar el original
docs_uploaded_by = Subido por
docs_entered_in_error = Archivado por error
docs_mark_error = Marcar como archivado por error
docs_window = Ventana
docs_window_default = Como en el archivo
docs_no_preview = Sin vista previa para esta imagen: descargue el original para abrirlo en un visor DICOM.
docs_open_pdf = Abrir el PDF
dicom_study = Estudio
dicom_series = Serie
dicom_modality = Modalidad
dicom_name = Nombre en el archivo
dicom_date = Fecha del estudio
dicom_size = Tamaño de la imagen
cat_photo = Foto
cat_report = Informe
cat_lab_report = Informe de laboratorio
cat_scan = Documento escaneado
cat_imaging = Imagen médica
cat_letter = Carta
cat_other = Otro
notes_new = Empezar una nota
notes_template = Plantilla
notes_visit = Visita
notes_draft = Borrador
notes_signed = Firmada
notes_subjective = Subjetivo
notes_objective = Objetivo
notes_assessment = Evaluación
notes_plan = Plan
notes_save = Guardar borrador
notes_sign = Firmar la nota
notes_sign_confirm = Una vez firmada, la nota no puede cambiarse; las correcciones serán adendas. ¿Firmar ahora?
notes_addenda = Adendas
notes_add_addendum = Añadir una adenda
notes_locked = Esta nota está firmada y bloqueada. Las correcciones se añaden como adendas firmadas.
notes_by = por
notes_none = Aún no hay notas.
notes_saved = Borrador guardado.
notes_title = Nota de visita
export_title = Descargar mi historia
export_pdf = Copia legible (PDF)
export_json = Archivo de datos (JSON)
bg_title = Acceso de emergencia
bg_intro = No tiene relación asistencial con este paciente. En una emergencia puede abrir la historia por un tiempo limitado. Indique el motivo: el acceso queda marcado en la auditoría y se avisa al paciente.
bg_reason = Motivo
bg_open = Abrir la historia
bg_active = Acceso de emergencia hasta
oauth_title = ¿Permitir una aplicación?
oauth_intro = Esta aplicación pide usar su cuenta de telemed con estos permisos:
oauth_patient_only = Solo verá su propia historia.
oauth_user_wide = Verá lo que usted puede ver en telemed, con las mismas reglas y auditoría.
oauth_offline = Podrá mantener el acceso aunque usted no esté conectado, hasta que lo revoque.
oauth_allow = Permitir
oauth_deny = Denegar
oauth_sends_to = Volverá a
oauth_unknown_client = Esta aplicación no está registrada en esta clínica.
oauth_bad_redirect = Esta aplicación pidió enviarle a una dirección que no registró.
scope_read = leer
scope_search = buscar
scope_create = crear
scope_update = modificar
scope_delete = borrar
scope_all_data = todos los datos de la historia
scope_identity = saber quién es usted
apps_title = Aplicaciones conectadas
apps_intro = Aplicaciones a las que permitió usar su cuenta mediante la API FHIR. Al revocar, su acceso termina de inmediato.
apps_admin_title = Aplicaciones (clientes OAuth)
apps_admin_intro = Las aplicaciones registradas aquí pueden pedir a pacientes y profesionales acceso a la API FHIR (SMART App Launch, código de autorización con PKCE).
apps_name = Nombre
apps_redirects = URI de redirección (una por línea)
apps_scopes = Permisos que puede pedir
apps_confidential = Confidencial (un servidor que guarda un secreto)
apps_register = Registrar
apps_registered = Registrada. El identificador de cliente y el secreto (se muestra una sola vez):
apps_disable = Desactivar
apps_disabled = desactivada
apps_granted = Permitida el
nav_apps = Aplicaciones
nav_clinic = Clínica
nav_now = Atención inmediata
nav_on_demand = Atención inmediata
od_title = Ver a un profesional ahora
od_intro = Elija el tipo de atención y diga por qué quiere ser atendido: el primer profesional libre le atiende por videoconsulta, normalmente en minutos.
od_emergency = En una emergencia, llame en su lugar al número de emergencias local.
od_none = La clínica no ofrece atención inmediata por ahora: reserve una cita.
od_specialty = Tipo de atención
od_reason = Motivo
od_join_queue = Pedir atención ahora
od_place = Es el número { $place } de { $of } en espera para { $specialty }.
od_estimate = Espera estimada: { $minutes ->
        [one] un minuto
       *[other] unos { $minutes } minutos
    }.
od_waiting_hint = Mantenga esta página abierta: pasa a la consulta en cuanto un profesional le atienda. Mientras, compruebe su cámara y micrófono abajo.
od_device_check = Comprobar la cámara y el micrófono
od_withdraw = Dejar de esperar
od_taken = Un profesional está listo para atenderle.
od_join = Entrar en la videoconsulta
od_queue_title = Pacientes que esperan atención inmediata
od_queue_of = Cola:
od_queue_empty = No hay nadie esperando.
od_queue_none = La clínica no tiene cola de atención inmediata para su especialidad.
od_take = Atender al siguiente paciente
od_since = Esperando desde
clinic_title = La clínica
clinic_intro = Lo que los pacientes ven de la clínica en cada página y cada correo, las visitas que ofrece y sus reglas de reserva. Los cambios se aplican de inmediato.
clinic_contact = Nombre y contacto
clinic_name = Nombre de la clínica
clinic_phone_label = Teléfono para pacientes
clinic_email = Correo de contacto para pacientes
clinic_hours = Horario de atención telefónica
clinic_hours_example = lun–vie 8:00–18:00
clinic_address = Dirección
clinic_place = Zona, moneda e idiomas
clinic_zone_hint = Una zona IANA como Europe/Madrid: la usan las páginas de invitados y los horarios nuevos.
clinic_currency_hint = Tres letras, como EUR: las tarifas de los horarios que se guarden desde ahora van en ella.
clinic_languages = Idiomas ofrecidos
clinic_default_language = predeterminado
clinic_visits_hint = Solo se pueden reservar los tipos ofrecidos. Cada profesional fija su duración y tarifa; estas son el punto de partida de un horario nuevo.
clinic_policy = Reglas de reserva
clinic_reminders = Recordatorios (horas antes)
clinic_reminders_hint = Varios recordatorios separados por comas, p. ej. 24, 1; vacío para ninguno.
clinic_cutoff = Los pacientes pueden cambiar o cancelar hasta (horas antes)
clinic_check_in = El registro de llegada abre (minutos antes)
clinic_noshow = Ausencia tras (minutos)
clinic_on_demand = Especialidades con atención inmediata
clinic_on_demand_hint = Los pacientes pueden pedir ser atendidos ahora en estas especialidades (tal como las nombran los profesionales), separadas por comas; cualquier profesional de la especialidad atiende al siguiente paciente.
clinic_logo = Logotipo
clinic_logo_choose = Imagen del logotipo
clinic_logo_hint = PNG, JPEG o WebP, hasta { $kib } KiB; se muestra junto al nombre en cada página.
clinic_logo_upload = Subir el logotipo
clinic_logo_remove = Quitar el logotipo
clinic_consent_hint = Publicar una versión nueva pide a cada paciente que la acepte antes de su próxima videoconsulta. Las versiones publicadas se conservan sin cambios, con quién aceptó cada una.
clinic_consent_publish = Publicar como versión nueva
clinic_consent_published = La nueva versión del consentimiento está publicada.
clinic_consent_versions = Versiones publicadas
clinic_consent_published_at = Publicada
code_find = Buscar el código: escriba palabras del diagnóstico, la prueba o la vacuna, o el comienzo de su código
code_choices = Códigos encontrados
code_nothing_found = Ningún código de este tipo tiene estas palabras. Pruebe con menos palabras o más cortas.
code_not_coded_here = Esta parte de la historia se escribe con palabras; no hay código que buscar.
code_typed_yourself = O escriba el código usted mismo
code_chosen_differs = El código elegido de la lista y el código escrito no coinciden: deje solo uno.
nav_terminology = Sistemas de códigos
term_title = Sistemas de códigos
term_intro = Los clínicos eligen diagnósticos, pruebas y vacunas de estos sistemas de códigos mientras escriben. telemed empieza con un conjunto de códigos frecuentes; importe aquí las versiones completas. Una importación añade y actualiza códigos y marca inactivos los que la versión ya no incluye; no se borra nada y las historias conservan sus códigos.
term_system = Sistema de códigos
term_active = Códigos activos
term_inactive = Inactivos
term_held = Qué hay
term_starter = Conjunto inicial de telemed
term_imported = Una versión completa, importada
term_import = Importar una versión
term_import_hint = ICD-10-CM: el archivo de orden que publica CMS (icd10cm_order_2026.txt). LOINC: la tabla de una versión (LoincTable/Loinc.csv). La importación se hace en segundo plano; esta página muestra cuánto ha avanzado.
term_file = Archivo de la versión
term_start = Empezar la importación
term_started = La importación ha empezado.
term_imports = Importaciones
term_file_name = Archivo
term_status = Estado
term_progress = Avance
term_running = en curso
term_done = terminada
term_failed = fallida
term_codes_read = { $concepts ->
        [one] un código leído
       *[other] { $concepts } códigos leídos
    } ({ $added } nuevos, { $retired } retirados)
term_no_imports = Aún no se ha importado ninguna versión.
term_choose_file = Elija el archivo de la versión que quiere importar.

## Emails. Never anything clinical: links, dates and codes only.

mail_verify_email_subject = Confirme su correo para { $clinic }
mail_verify_email_body =
    Hola:

    Para confirmar su dirección y activar su cuenta de { $clinic }, abra este enlace (válido 24 horas):

    { $link }

    Si no creó una cuenta, ignore este mensaje.
mail_sign_in_code_subject = Su código para entrar en { $clinic }: { $code }
mail_sign_in_code_body =
    Hola:

    Su código para entrar en { $clinic } es:

    { $code }

    Escríbalo en la página donde lo pidió. Vale { $minutes } minutos y una sola vez.

    Si no lo pidió, ignore este mensaje: nadie puede entrar sin el código.
mail_account_exists_subject = Ya tiene una cuenta de { $clinic }
mail_account_exists_body =
    Hola:

    Alguien intentó crear una cuenta de { $clinic } con esta dirección, pero ya tiene una.

    Iniciar sesión: { $sign_in }
    Si olvidó su contraseña: { $reset }

    Si no fue usted, ignore este mensaje.
mail_reset_password_subject = Restablecer su contraseña de { $clinic }
mail_reset_password_body =
    Hola:

    Para elegir una contraseña nueva, abra este enlace (válido 1 hora):

    { $link }

    Si no lo pidió, ignore este mensaje: su contraseña no cambia.
mail_proxy_invitation_subject = Invitación para acceder a una historia en { $clinic }
mail_proxy_invitation_body =
    Hola:

    Un paciente de la clínica le invitó a ver su historia clínica en su nombre (como familiar o cuidador). Para ver quién le invitó y aceptar o rechazar, inicie sesión con esta dirección de correo y abra (válido { $days ->
        [one] un día
       *[other] { $days } días
    }):

    { $link }

    Si no tiene cuenta, regístrese como paciente con esta misma dirección. Si no espera esta invitación, ignore este mensaje: nada cambia sin su respuesta.
mail_new_message_subject = Tiene un mensaje nuevo en { $clinic }
mail_new_message_body =
    Hola:

    Tiene un mensaje seguro nuevo. Léalo aquí (tras iniciar sesión):

    { $link }

    Por su privacidad, el mensaje no se envía por correo.
mail_emergency_access_subject = Acceso de emergencia a su historia en { $clinic }
mail_emergency_access_body =
    Hola:

    El { $when }, un profesional sin relación asistencial con usted abrió su historia clínica por una emergencia. Estos accesos quedan registrados con su motivo y la clínica los revisa.

    Vea quién y por qué (tras iniciar sesión):

    { $link }

    Si algo no le parece correcto, contacte con la clínica.
mail_invitation_subject = Invitación a { $clinic }
mail_invitation_body =
    Hola:

    Le invitaron a unirse a { $clinic } como { $role }. Para crear su cuenta, abra este enlace (válido 7 días):

    { $link }
mail_visit_booked_subject = Su cita de { $clinic } está reservada
mail_visit_booked_body =
    Hola:

    Su cita está reservada para el { $when }.

    Verla o cambiarla: { $link }

    La invitación adjunta la añade a su calendario.
mail_visit_reminder_subject = Recordatorio: su cita de { $clinic }
mail_visit_reminder_body =
    Hola:

    Le recordamos su cita del { $when }.

    Detalles: { $link }
mail_visit_cancelled_subject = Su cita de { $clinic } está cancelada
mail_visit_cancelled_body =
    Hola:

    Su cita del { $when } está cancelada.

    Reservar otra hora: { $link }
mail_visit_rescheduled_subject = Su cita de { $clinic } tiene una hora nueva
mail_visit_rescheduled_body =
    Hola:

    Su cita es ahora el { $when }.

    Verla o cambiarla: { $link }

    La invitación adjunta actualiza su calendario.
mail_visit_patient_booked_subject = Un paciente reservó una cita de { $clinic } con usted
mail_visit_patient_booked_body =
    Hola:

    Un paciente reservó una cita con usted el { $when }.

    Su día: { $link }
mail_visit_patient_cancelled_subject = Un paciente canceló una cita de { $clinic }
mail_visit_patient_cancelled_body =
    Hola:

    El paciente canceló la cita del { $when }. La hora vuelve a estar libre.

    Su día: { $link }
mail_visit_patient_rescheduled_subject = Un paciente cambió la hora de una cita de { $clinic }
mail_visit_patient_rescheduled_body =
    Hola:

    El paciente cambió una cita; ahora es el { $when }.

    Su día: { $link }
mail_visit_start_now_subject = Su profesional le espera ahora ({ $clinic })
mail_visit_start_now_body =
    Hola:

    Su profesional ha iniciado una videoconsulta con usted y le espera ahora ({ $when }).

    Entrar: { $link }

    Si no ha iniciado sesión en este dispositivo, esa página le envía por correo un código para entrar (o use su contraseña).

## Mensajes de texto (SMS): breves, en nombre de la clínica, nunca nada clínico.

sms_confirm_mobile = { $clinic }: { $code } es su código para confirmar este número. Vale { $minutes } minutos.
sms_sign_in_code = { $clinic }: { $code } es su código para entrar. Vale una vez, durante { $minutes } minutos.
sms_visit_booked = { $clinic }: su cita está reservada para el { $when }. { $link }
sms_visit_reminder = { $clinic }: le recordamos su cita del { $when }. { $link }
sms_visit_cancelled = { $clinic }: su cita del { $when } está cancelada. { $link }
sms_visit_rescheduled = { $clinic }: su cita es ahora el { $when }. { $link }
sms_visit_patient_booked = { $clinic }: un paciente reservó una cita con usted el { $when }. { $link }
sms_visit_patient_cancelled = { $clinic }: un paciente canceló la cita del { $when }. { $link }
sms_visit_patient_rescheduled = { $clinic }: un paciente cambió una cita al { $when }. { $link }
sms_visit_start_now = { $clinic }: su profesional le espera ahora en una videoconsulta. { $link }

## El móvil de la cuenta y cómo llegan los avisos.

mobile_title = Mensajes de texto (SMS)
mobile_intro = Los recordatorios, los enlaces a sus citas y los códigos para entrar también pueden llegar por mensaje de texto. Los mensajes nunca llevan datos clínicos.
mobile_number = Número de móvil, con el prefijo del país
mobile_send_code = Enviar un código a este número
mobile_code_sent = Enviamos un código al { $number }. Escríbalo aquí para confirmar el número.
mobile_code = Código del mensaje
mobile_confirm = Confirmar el número
mobile_confirmed = Los mensajes van al { $number }.
mobile_none = Aún no hay ningún móvil confirmado.
mobile_remove = Olvidar el número
mobile_removed = El número se ha olvidado: no llegarán mensajes.
mobile_bad_number = Escriba el número con el prefijo del país, como +34 600 111 222.
mobile_wrong_code = Ese código no es correcto. Mire el mensaje más reciente.
mobile_code_gone = Ya no hay ningún código pendiente: envíe uno nuevo.
prefs_by_email = Correo
prefs_by_sms = Mensaje de texto
prefs_codes = Códigos para entrar
prefs_sms_needs_number = Los mensajes solo van a un móvil confirmado.
