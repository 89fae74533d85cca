# telemed in English. One message per key; every language file has the same keys
# (the build refuses a file with a key missing or extra, or a message that uses a
# variable English does not give). Variables are written { $name }.

language_name = English

skip_to_content = Skip to content
nav_home = Home
nav_menu = Menu
nav_account = Account
nav_users = Users
nav_audit = Audit trail
nav_outbox = Mail outbox
nav_access_log = Who saw my record
sign_in = Sign in
sign_out = Sign out
register = Create an account
language = Language
change = Change
save = Save
email = Email
password = Password
new_password = New password
display_name = Full name
password_hint = At least 10 characters. A few unrelated words work well.
login_title = Sign in to telemed
forgot_link = Forgot your password?
new_patient = New patient?
login_failed = The email or password is not right.
too_many_attempts = Too many attempts. Wait a few minutes and try again.
login_unverified = Confirm your email address first: we have sent you a new link.
account_disabled = This account is disabled. Contact the clinic.
signed_out_idle = You were signed out after a period of inactivity.
login_code_link = Email me a sign-in code instead
code_title = Sign in with a code
code_intro = Patients can sign in without their password: we send a six-digit code to the address of your account (or by text message, if you chose that in your account).
code_send = Email me a code
code_sent = If this address has a patient account, we have sent it a code (by email, or by text message if you chose that). It works once, for 10 minutes.
code_label = Code you received
code_by_email = Send a new code by email instead
code_resend = Send a new code
code_failed = That code is not right, or it has expired. Check the newest email or ask for a new code.
code_use_password = Sign in with your password instead
code_new_title = See a clinician now
code_new_intro = New here? Give your name and email: we email you a code, and with it you are in. You can choose a password later, in your account.
code_have_account = Already a patient here?
care_now = Need care today?
mfa_title = Two-step verification
mfa_prompt = Enter the 6-digit code from your authenticator app, or one of your recovery codes.
mfa_code = Code
mfa_failed = That code is not right.
verify = Verify
register_title = Create your patient account
register_button = Create account
register_sent = Check your email: we have sent you a link to confirm your address.
verify_ok = Your email address is confirmed. You can sign in now.
link_invalid = This link is not valid or has expired.
forgot_title = Reset your password
forgot_button = Send reset link
forgot_sent = If an account exists for this address, we have sent it a link to reset the password.
reset_title = Choose a new password
reset_done = Your password is changed and your other sessions are signed out. Sign in with the new password.
invite_title = Join the clinic
invite_intro = You have been invited to telemed with the role:
invite_button = Create my account
invite_done = Your account is ready. Sign in, then set up two-step verification.
home_title = Welcome
home_intro = You are signed in to telemed.
account_title = Your account
role = Role
specialty = Specialty
on = On
off = Off
mfa_set_up = Set up
mfa_turn_off = Turn off
mfa_setup_title = Set up two-step verification
mfa_setup_steps = Scan this code with an authenticator app, or type the key into it. Then enter the 6-digit code the app shows.
mfa_key = Key
mfa_turn_on = Turn on
mfa_required = Your role needs two-step verification. Set it up to continue.
recovery_title = Your recovery codes
recovery_intro = Keep these codes somewhere safe. Each one signs you in once if you lose your phone. They are not shown again.
recovery_left = Recovery codes left
continue_label = Continue
sessions_title = Signed-in devices
this_device = This device
signed_in_at = Signed in
last_active = Last active
address = Address
sign_out_everywhere = Sign out everywhere
tokens_title = API tokens
tokens_intro = Tokens let other programs use the telemed API as you, within the scopes you choose.
token_name = Name
token_scopes = Scopes
token_days = Valid for (days)
token_create = Create token
token_created = Copy this token now: it is not shown again.
expires = Expires
last_used = Last used
revoke = Revoke
nothing_yet = Nothing yet.
users_title = Users
search = Search
any_role = Any role
status = Status
active = Active
disabled = Disabled
disable = Disable
enable = Enable
set_role = Set role
invite_heading = Invite a clinician or staff member
invite_send = Send invitation
invite_sent = Invitation sent.
invitations = Invitations
pending = Pending
accepted = Accepted
revoked = Revoked
expired = Expired
role_patient = Patient
role_clinician = Clinician
role_staff = Front desk staff
role_admin = Administrator
role_pharmacist = Pharmacist
outbox_title = Mail outbox
outbox_intro = Every email telemed sends passes through here. Without an SMTP server (demo), messages stay here to be read.
to = To
subject = Subject
queued = Queued
sent = Sent
audit_title = Audit trail
audit_intro = Every sign-in, account change and access to patient data, in a tamper-evident chain.
when = When
who = Who
action = Action
patient = Patient
outcome = Outcome
request = Request
filter = Filter
older = Older entries
verify_chain = Verify the chain
chain_ok = The chain is intact.
chain_broken = The chain is broken at entry
entries = entries
access_log_title = Who saw my record
proxies_title = Proxy access
proxies_to_me = Invitations to you
proxies_to_me_none = No invitation is waiting for your answer.
proxy_whose_record = Whose record
proxy_relationship = Relationship
proxy_expires = Answer before
proxy_since = Since
proxy_accept = Accept
proxy_decline = Decline
proxies_mine = Who can see my record
proxies_explain = A proxy (a parent, a carer) reads your record and adds documents to it on your behalf, signed in with their own patient account. They get access only when they accept your invitation.
proxies_none = Nobody else can see your record.
proxies_none_patient = Nobody has proxy access to this record.
proxies_of_patient = Who can see this patient's record on their behalf
proxies_waiting = Invitations waiting for an answer
proxy_remove = Remove access
proxy_withdraw = Withdraw
proxy_invite = Invite a proxy
proxy_send = Send invitation
proxy_invite_hint = We email the address a link. The person signs in (or registers as a patient) with that address to accept.
proxy_invited = Invitation sent.
proxy_removed = Done: that access or invitation is gone.
proxy_accepted = Accepted: you can now open that record.
proxy_declined = Declined.
proxy_not_found = That invitation or access is not there any more (answered, withdrawn or expired).
access_log_intro = Each time someone at the clinic opens your record, it is listed here.
months_short = Jan, Feb, Mar, Apr, May, Jun, Jul, Aug, Sep, Oct, Nov, Dec
months = January, February, March, April, May, June, July, August, September, October, November, December
weekdays_in_dates = Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday
weekdays_short = Mon, Tue, Wed, Thu, Fri, Sat, Sun
date_long = { $weekday } { $day } { $month } { $year }
date_long_no_year = { $weekday } { $day } { $month }
date_short = { $wd } { $day } { $mon } { $year }
date_short_no_year = { $wd } { $day } { $mon }
date_plain = { $day } { $mon } { $year }
date_plain_no_year = { $day } { $mon }
st_active = active
st_recurrence = recurrence
st_relapse = relapse
st_inactive = inactive
st_remission = remission
st_resolved = resolved
st_unstated = status not stated
st_stopped = stopped
st_completed = completed
st_intended = planned
st_on_hold = on hold
st_not_taken = not taken
st_not_done = not given
st_registered = registered
st_partial = partial
st_preliminary = preliminary
st_final = final
st_amended = amended
st_corrected = corrected
st_appended = appended
st_cancelled = cancelled
st_unknown = status unknown
st_entered_in_error = entered in error
ver_unconfirmed = UNCONFIRMED
ver_provisional = PROVISIONAL
ver_differential = DIFFERENTIAL
ver_confirmed = confirmed
ver_refuted = REFUTED
sev_mild = mild
sev_moderate = moderate
sev_severe = severe
crit_low = low
crit_high = high
crit_unable = unable to assess
el_sent_as = sent as { $value }
el_reference = reference { $low }–{ $high }
el_out_of_range = out of range
el_criticality = criticality { $value }
el_report_of = report of { $count ->
        [one] one result
       *[other] { $count } results
    }
el_until = to
browser = Browser
copy = Copy
week_nav = Weeks
day_nav = Days
day_today = Today
day_waiting = waiting now
day_no_visits = No visits today.
day_unread = Unread messages
day_no_unread = Nothing unread.
call_timer = Time in the call
call_to_change = Less than { $hours ->
        [one] an hour
       *[other] { $hours } hours
    } before the visit, it can no longer be moved or cancelled online: call the clinic.
clinic_phone = Phone:
next_steps = Before your visit: check your camera, microphone and speaker below, then check in. The button to join appears once you are checked in.
tpl_general = General consultation
tpl_general_s =
    Reason for visit:
    History of present illness:
tpl_general_o =
    Observed on video:
    Vitals reported:
tpl_general_p =
    Treatment:
    Follow-up:
tpl_dermatology = Dermatology
tpl_dermatology_s =
    Lesion history (onset, change, symptoms):
tpl_dermatology_o =
    Site:
    Morphology (size, colour, border):
    Photos reviewed:
tpl_dermatology_p =
    Treatment:
    Biopsy / referral:
    Follow-up photo in:
tpl_psychiatry = Psychiatry
tpl_psychiatry_s =
    Mood and sleep:
    Stressors:
    Risk (self/others):
tpl_psychiatry_o =
    Mental state examination:
    Scales (PHQ-9, GAD-7):
tpl_psychiatry_p =
    Therapy:
    Medication:
    Safety plan:
    Follow-up:
tpl_cardiology = Cardiology
tpl_cardiology_s =
    Chest pain, dyspnoea, palpitations, syncope:
tpl_cardiology_o =
    Home blood pressure and heart rate:
    ECG reviewed:
tpl_cardiology_p =
    Medication:
    Tests:
    Follow-up:
al_when = { $date } at { $time }
al_what = What
al_allowed = done
al_refused = refused
al_failed = failed
al_section_read = opened your record: { $section }
al_section_write = wrote in your record: { $section }
al_chart_read = opened your chart
al_access_log_read = looked at who saw your record
al_export = exported a copy of your record
al_document_open = opened a document in your record
al_note_sign = signed a visit note
al_note_addendum = added an addendum to a visit note
al_break_glass = opened your record in an emergency (break the glass)
al_care_team_add = added someone to your care team
al_proxy_invite = invited someone to be your proxy
al_proxy_accept = accepted proxy access to your record
al_proxy_decline = declined proxy access to your record
al_proxy_revoke = ended a proxy's access to your record
al_proxy_withdraw = withdrew a proxy invitation
al_proxy_list = looked at who has proxy access
al_visit_admit = let you into the video visit
al_visit_enter = entered the video visit
al_visit_leave = left the video visit
al_visit_end = ended the video visit
al_visit_chat = wrote in the video visit's chat
al_visit_record = opened the record of a video visit
al_visit_invite = invited a guest to a video visit
al_visit_invite_used = joined a video visit as a guest
al_visit_invite_revoke = withdrew a guest's invitation
al_consent = accepted the telehealth consent
al_appointment_book = booked a visit
al_appointment_cancel = cancelled a visit
al_appointment_move = moved a visit
al_appointment_check_in = checked in for a visit
al_appointment_noshow = marked a visit as missed
al_appointment_noshow_undo = undid a missed visit
al_appointment_fulfil = completed a visit
al_appointment_read = looked at your visits
al_on_demand_join = asked to be seen now
al_on_demand_withdraw = stopped waiting to be seen now
al_start_now = started a video visit with you
note_start_now = Your clinician is waiting for you in a video visit now
sn_title = See the patient now
sn_reason = Reason, for the patient
sn_start = Start a video visit now
sn_hint = The patient is told at once, in the app and by email, with a link to the visit.
al_on_demand_take = took you from the queue to be seen now
al_message_read = read your messages
al_message_send = sent a message
al_thread_create = started a conversation
al_thread_route = passed a conversation to a clinician
al_attachment_read = opened a file sent in a message
al_prescription_sign = signed a prescription
al_prescription_pdf = printed a prescription
al_prescription_send = sent a prescription to a pharmacy
al_prescription_dispense = dispensed a prescription
al_prescription_verify = checked a prescription
al_prescription_change = changed a prescription
al_renewal_request = asked for a prescription renewal
al_renewal_answer = answered a renewal request
al_other = used your record
error_title = Something went wrong
error_reference = Reference
back_home = Back to the start page
err_not_found = We could not find that page.
err_forbidden = You are not allowed to do this.
err_invalid = The request was not valid.
err_too_large = What you sent is too large.
err_quota = This file does not fit: your files take { $used } MB of the { $quota } MB you may store. Delete unsent uploads or ask the clinic for more room.
storage = Storage
storage_of = { $used } MB of { $quota } MB
storage_unlimited = { $used } MB (no quota)
storage_unsent = { $n } unsent
storage_total = Files stored by everyone: { $used } MB in { $files } files.
err_internal = An error happened on our side. Please try again.
err_session_form = The form expired. Reload the page and try again.
err_email = Enter a valid email address.
err_password_short = Use at least 10 characters.
err_password_weak = This password is too common or too easy to guess. Try a few unrelated words.
err_name = Enter a name of 1 to 100 characters.
nav_book = Book a visit
nav_appointments = My appointments
nav_calendar = Calendar
book_title = Find a clinician
any = Any
visit_kind = Visit type
kind_video = Video
kind_audio = Phone (audio only)
kind_messaging = Messages
languages = Languages
region_label = Where you are (region code, e.g. ES-MD)
next_available = Next available
see_times = See times
no_clinicians = No clinician matches. Try fewer filters.
none_available = No free time in the next 31 days
times_in = Times shown in
prev_week = Previous week
next_week = Next week
no_slots = No free times this week.
day_no_times = No free times this day.
day_strip_none = none
days_nav = Days of the week
part_morning = Morning
part_afternoon = Afternoon
part_evening = Evening
free_times_count =
    { $count ->
        [one] one time
       *[other] { $count } times
    }
confirm_title = Confirm your visit
reason_label = Reason for the visit
confirm_button = Book this visit
fee = Fee
duration = Duration
minutes = min
booked_notice = Your visit is booked.
cancelled_notice = The visit is cancelled.
upcoming = Upcoming
past = Past
cancel_visit = Cancel visit
cancel_reason = Reason (sent to the patient)
calendar_title = Appointments
clinician = Clinician
status_proposed = Proposed
status_booked = Booked
status_arrived = In the waiting room
status_fulfilled = Done
status_cancelled = Cancelled
status_noshow = Missed
status_error = Entered in error
previous_day = Previous day
next_day = Next day
add_to_calendar = Add to calendar
feed_title = Calendar app feed
feed_intro = Subscribe to this private link in your calendar app to see your visits there. It shows times and a link, never patients' names. Making a new link stops the old one.
feed_new = Make a new link
nav_notifications = Notifications
nav_waiting_room = Waiting room
moved_notice = Your visit has a new time.
move_visit = Change time
move_title = Choose a new time
move_current = Now booked for
move_button = Move the visit here
move_reason = Reason (sent to the patient)
undo_noshow = Undo missed
waiting_room_link = Waiting room
waiting_title = Virtual waiting room
device_check = Check your device
device_intro = Before the visit, check that your camera, microphone, speaker and connection work. Nothing is recorded or sent.
check_camera = Test camera and microphone
camera = Camera
microphone = Microphone
speaker = Speaker
connection = Connection
play_sound = Play a test sound
heard_it = I heard it
not_checked = Not checked yet
speak_hint = Speak: the bar moves when the microphone hears you.
check_in = Check in
check_in_opens = Check-in opens at
checked_in_since = You are checked in since
checked_in_hint = Your clinician sees you in the queue and will start the visit. Keep this page open.
visit_closed = This visit is over or no longer booked.
queue_title = Waiting room
queue_empty = Nobody is waiting or due in the next hour.
queue_waiting = Waiting
queue_due = Due
queue_late = Late
queue_too_long = Waiting too long
queue_live = This list updates by itself.
starts = Starts
minutes_waiting = min waiting
mark_all_read = Mark all as read
no_notifications = No notifications.
note_booked = Visit booked
note_reminder = Visit reminder
note_cancelled = Visit cancelled
note_rescheduled = Visit moved to a new time
note_patient_cancelled = A patient cancelled a visit
note_patient_rescheduled = A patient moved a visit
note_patient_booked = A patient booked a visit with you
note_other = Update
dc_ok = Works
dc_fail = Not working
nav_schedule = Availability
nav_schedules = Schedules
nav_book_for = Book for a patient
schedules_title = Clinicians' schedules
schedule_title = Availability
saved_notice = Saved. Patients see the new times now.
profile = Profile
languages_codes = Languages spoken (codes, e.g. en es)
regions_codes = Licensed in (region codes, e.g. ES-MD US-NY)
bio = About you (patients see this)
weekly_hours = Weekly hours
hours_hint = Local time in your zone. Several ranges: 09:00-13:00, 15:00-18:00. Empty: closed.
time_zone = Time zone
weekdays = Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday
exceptions = Exceptions
exceptions_hint = One per line: 2026-12-24 closed · 2026-12-28 2026-12-31 closed · 2027-01-09 10:00-13:00 (extra hours)
booking_rules = Booking rules
buffer_minutes = Break between visits (min)
horizon_days = Bookable up to (days ahead)
min_notice_minutes = Minimum notice (min)
visit_types = Visit types
offered = Offered
currency = Currency
preview_title = Free times over the next 7 days
patient_email = Patient's email
day_view = Day view
mark_done = Mark as done
nav_messages = Messages
new_message = New message
inbox = Inbox
archived = Archived
archive = Archive
no_messages = No messages.
unread = unread
clinic_inbox = Clinic inbox
seen = Seen
your_message = Your message
send = Send
attach_files = Attach photos or PDFs (up to 5, 10 MB each)
err_file_type = Send pictures (PNG, JPEG, GIF, WebP) or PDF files.
open_file = Open
route_to = Pass to
route = Pass on
message_to = To
the_clinic = The clinic (front desk)
note_message = New message
note_routed = A conversation was passed to you
note_emergency_access = A clinician opened your record in an emergency (see who and when in your access log)
prefs_title = How notifications reach you
prefs_intro = You always see notifications here. Choose which ones also come by email or, where offered, by text message; they never hold clinical details, only a link.
email_visits = Visits: confirmations, reminders and changes
email_messages = New secure messages
saved = Saved.
week_view = Week view
room_title = Video visit
room_with = with
room_connecting = Connecting…
room_waiting = You are in the waiting room. The clinician will let you in shortly.
room_in_call = In the call
room_ended = The visit has ended.
room_reconnecting = Connection lost; reconnecting…
room_you = You
room_mute = Mute
room_unmute = Unmute
room_camera_off = Camera off
room_camera_on = Camera on
room_share = Share screen
room_stop_share = Stop sharing
room_audio_only = Audio only
room_video_back = Video on
room_end = End visit
room_leave = Leave
room_admit = Let in
room_waiting_list = Waiting to join
room_nobody_waiting = Nobody is waiting.
room_invite = Invite someone to the call
room_invite_label = Who they are (e.g. Interpreter, Daughter)
room_invite_make = Make a link
room_invite_hint = Send this link to them; it works once and only for this visit.
room_revoke = Revoke
room_chat = Chat
room_chat_placeholder = Write a message
room_quality = Connection
room_quality_good = good
room_quality_fair = fair
room_quality_poor = poor
room_summary = Chart summary
room_reason = Reason for the visit
room_visits = Visits
room_consent = Telehealth consent
room_no_consent = Not given
room_kind_patient = Patient
room_kind_clinician = Clinician
room_kind_guest = Guest
room_join = Join the video visit
room_devices = Camera and microphone
consent_title = Consent to telehealth
consent_p1 = Your visit takes place by live video between your device and your clinician's. The video and sound go directly between the devices, encrypted; telemed does not record them.
consent_p2 = A video visit has limits: the clinician cannot examine you in person and may ask you to come to the clinic or go to emergency services. In an emergency, call your local emergency number.
consent_p3 = The clinic keeps a record of the visit (when it started and ended, who took part, the chat and the connection quality) with your health record.
consent_p4 = You may withdraw this consent at any time and ask for an in-person visit instead.
consent_accept = I agree
consent_changed = The clinic published a new version of this consent while you were reading: please read it again.
consent_version = Version
consents_title = Consents
join_title = Join a video visit
join_intro = You are invited to a video visit with
join_as = You join as
join_hint = The clinician lets you in from the waiting room. This link works once.
join_button = Join
record_title = Visit record
record_started = Started
record_ended = Ended
record_duration = Duration
record_attendance = Who took part
record_joined = Joined
record_left = Left
record_quality = Call quality
record_rtt = Round trip
record_loss = Packet loss
record_bitrate = Bitrate
record_relayed = Through a relay (TURN)
record_no_quality = No quality reports.
record_yes = yes
record_no = no
record_open = See the visit record
nav_record = My record
chart_title = Health record
chart_open = Open the chart
chart_summary = Summary
chart_nothing = Nothing recorded.
chart_recent_visits = Recent visits
chart_latest_vitals = Latest vital signs
chart_add_entry = Add to the chart
chart_section = Section
chart_code_system = Code system
chart_code = Code
chart_text = Description
chart_value = Value
chart_value2 = Second value (diastolic)
chart_unit = Unit
chart_date = Date
chart_severity = Severity
chart_reaction = Reaction
chart_dosage = Dosage
chart_relation = Relative
chart_range_low = Reference range from
chart_range_high = to
chart_note_field = Note
chart_add = Add
chart_entry_hint = Choose the section, then find the code by typing words ("dermatitis", "heart rate"): the description is filled in from the code chosen when left empty, and a vital sign's unit always is.
chart_latest_only = The latest 100 are shown; the data file download and the API have them all.
chart_added = Added to the chart.
sec_demographics = Demographics and contacts
sec_problems = Problems
sec_allergies = Allergies and intolerances
sec_medications = Medications
sec_immunizations = Immunizations
sec_vitals = Vital signs
sec_labs = Lab results
sec_history = Family and social history
sec_notes = Visit notes
sec_documents = Documents and images
sec_prescriptions = Prescriptions
rx_verify_title = Verify a prescription
rx_none = No prescriptions.
rx_active = active
rx_not_active = not to be dispensed
rx_valid = Valid: signed by this clinic, unaltered, in date and active
rx_expired = Expired: signed by this clinic, but no longer in date
rx_ended = Not to be dispensed: ended by the prescriber
rx_medication = Medication
rx_sig = How to take it
rx_quantity = Quantity
rx_refills = Refills
rx_patient = Patient (initials · birth year)
rx_prescriber = Prescriber
rx_token = The prescription's code (from its QR code)
rx_verify_button = Verify
rx_pad_title = Prescribe
note_renewal_requested = A patient asked for a prescription to be renewed
note_renewal_answered = Your renewal request was answered
preferred_pharmacy = Preferred pharmacy (prescriptions go there by default)
preferred_pharmacy_none = None: I take my copy to any pharmacy
rx_sending_queued = Being sent to the pharmacy
rx_sending_sent = Sent to the pharmacy
rx_sending_failed = Not yet sent to the pharmacy (retrying):
renewal_heading = Renewal
renewal_pending = asked, waiting for the prescriber
renewal_approved = renewed
renewal_denied = not renewed
renewal_visit = a visit is needed first
renewal_note = Note for the prescriber (optional)
renewal_ask = Ask for a renewal
renewal_queue = Renewal requests waiting for you
renewal_renew = Renew (open the pad)
renewal_reason = Reason, for the patient
renewal_ask_visit = Ask for a visit
renewal_deny = Deny
rx_renewing = Renewing at the patient's request: check and sign.
rx_drug = Drug
rx_drug_hint = Type the name, then choose the product
rx_nothing_found = No product of the catalogue has these words.
rx_free_text = Not in the catalogue? Write it in words (not checked)
rx_free_text_label = Drug, strength and form
rx_free_text_hint = Allergy, interaction and dose checks see only the ingredients its name names; the prescription carries a visible "not checked" flag.
rx_not_checked = Not checked: written in words, not chosen from the catalogue
rx_dose = Dose
rx_unit = Unit
rx_route = Route
rx_frequency = How often
rx_freq_once = Once a day
rx_freq_twice = Twice a day
rx_freq_three = Three times a day
rx_freq_four = Four times a day
rx_freq_bedtime = At bedtime
rx_freq_hours = Every few hours
rx_freq_weekly = Once a week
rx_every_hours = Every how many hours
rx_duration_days = For how many days (empty: ongoing)
rx_as_needed = Only when needed, for
rx_instructions = Instructions
rx_dispensing = Dispensing
rx_quantity_unit = Unit
rx_substitution = A generic or equivalent may be dispensed
rx_pharmacy = Pharmacy
rx_no_pharmacy = None: the patient takes the copy to any pharmacy
rx_note = Note to the pharmacist
rx_no_findings = The checks found nothing.
rx_override_reason = Reason to sign over it
rx_code = Your second-factor code
rx_sign = Sign the prescription
rx_signed = Signed:
rx_completed = Fully dispensed: every fill has been dispensed
rx_fills_heading = Fills
rx_fills = { $done } of { $allowed } { $allowed ->
        [one] fill
       *[other] fills
    } dispensed in full
rx_dispense_heading = Dispense fill
rx_dispense_quantity = Quantity handed over (less for a partial fill)
rx_dispense_button = Record the dispense
rx_dispensed = Dispensed { $quantity } of fill { $fill }.
nav_pharmacies = Pharmacies
nav_dispense = Dispense
pharmacies_title = Pharmacies
pharmacies_intro = The pharmacies prescriptions are sent or taken to, and the pharmacists who dispense for each.
pharmacy_inactive = not in the directory
pharmacy_name = Name
pharmacy_address = Address
pharmacy_phone = Phone
pharmacy_fhir = FHIR endpoint (optional)
pharmacy_in_directory = In the directory
pharmacy_pharmacists = Pharmacists
pharmacy_add_pharmacist = Add a pharmacist
pharmacy_add = Add a pharmacy
add = Add
email_time_zone = Times in emails
email_time_zone_unknown = your clinician's time zone (sign in from a browser to use yours)
chart_lab_report = New lab report
chart_lab_report_hint = Groups lab results already in the chart (a panel, a laboratory's report), with its conclusion.
chart_lab_report_conclusion = Conclusion
demo_family_name = Family name
demo_given_names = Given names
demo_birth_date = Date of birth
demo_sex = Sex
demo_phone = Phone
demo_address = Address
demo_emergency = Emergency contact
not_given = not given
docs_upload = Add a document or photo
docs_drop = Drop a file here, or choose one.
docs_file = File
docs_title = Title
docs_category = Kind
docs_description = Anything the clinician should know
docs_for_visit = For the visit
docs_no_visit = No particular visit
docs_send = Upload
docs_uploading = Uploading…
docs_done = Uploaded.
docs_failed = The upload failed. Check the file and try again.
docs_hint = Photos (JPEG, PNG, WebP, GIF), PDFs and DICOM images. Every file is stored encrypted.
docs_none = No documents yet.
docs_download = Download the original
docs_uploaded_by = Uploaded by
docs_entered_in_error = Filed by mistake
docs_mark_error = Mark as filed by mistake
docs_window = Window
docs_window_default = As in the file
docs_no_preview = No preview for this image: download the original to open it in a DICOM viewer.
docs_open_pdf = Open the PDF
dicom_study = Study
dicom_series = Series
dicom_modality = Modality
dicom_name = Name in the file
dicom_date = Study date
dicom_size = Image size
cat_photo = Photo
cat_report = Report
cat_lab_report = Lab report
cat_scan = Scanned record
cat_imaging = Imaging
cat_letter = Letter
cat_other = Other
notes_new = Start a note
notes_template = Template
notes_visit = Visit
notes_draft = Draft
notes_signed = Signed
notes_subjective = Subjective
notes_objective = Objective
notes_assessment = Assessment
notes_plan = Plan
notes_save = Save draft
notes_sign = Sign the note
notes_sign_confirm = Once signed, the note cannot be changed; corrections become addenda. Sign now?
notes_addenda = Addenda
notes_add_addendum = Add an addendum
notes_locked = This note is signed and locked. Corrections are added as signed addenda.
notes_by = by
notes_none = No notes yet.
notes_saved = Draft saved.
notes_title = Visit note
export_title = Download my record
export_pdf = Readable copy (PDF)
export_json = Data file (JSON)
bg_title = Emergency access
bg_intro = You have no care relationship with this patient. In an emergency you may open the record for a limited time. State why: the access is flagged in the audit trail and the patient is told.
bg_reason = Reason
bg_open = Open the record
bg_active = Emergency access until
oauth_title = Allow an app?
oauth_intro = This app asks to use your telemed account with these permissions:
oauth_patient_only = It will see your own record only.
oauth_user_wide = It will see what you may see in telemed, under the same rules and audit.
oauth_offline = It may keep access while you are away, until you revoke it.
oauth_allow = Allow
oauth_deny = Deny
oauth_sends_to = You will be sent back to
oauth_unknown_client = This app is not registered with this clinic.
oauth_bad_redirect = This app asked to send you to an address it did not register.
scope_read = read
scope_search = search
scope_create = create
scope_update = change
scope_delete = delete
scope_all_data = all record data
scope_identity = know who you are
apps_title = Connected apps
apps_intro = Apps you allowed to use your account through the FHIR API. Revoking ends their access at once.
apps_admin_title = Apps (OAuth clients)
apps_admin_intro = Apps registered here may ask patients and clinicians for access to the FHIR API (SMART App Launch, authorization code with PKCE).
apps_name = Name
apps_redirects = Redirect URIs (one per line)
apps_scopes = Scopes it may ask for
apps_confidential = Confidential (a server that keeps a secret)
apps_register = Register
apps_registered = Registered. The client id, and the secret (shown once):
apps_disable = Disable
apps_disabled = disabled
apps_granted = Allowed on
nav_apps = Apps
nav_clinic = Clinic
nav_now = See someone now
nav_on_demand = On demand
od_title = See a clinician now
od_intro = Choose the kind of care and say why you want to be seen: the first clinician free takes you into a video visit, usually within minutes.
od_emergency = In an emergency, call your local emergency number instead.
od_none = The clinic does not see patients on demand at present: book a visit instead.
od_specialty = Kind of care
od_reason = Reason
od_join_queue = Ask to be seen now
od_place = You are number { $place } of { $of } waiting for { $specialty }.
od_estimate = Estimated wait: { $minutes ->
        [one] about a minute
       *[other] about { $minutes } minutes
    }.
od_waiting_hint = Keep this page open: it moves to the visit as soon as a clinician takes you. Meanwhile, check your camera and microphone below.
od_device_check = Check your camera and microphone
od_withdraw = Stop waiting
od_taken = A clinician is ready to see you.
od_join = Join the video visit
od_queue_title = Patients waiting to be seen now
od_queue_of = Queue:
od_queue_empty = Nobody is waiting.
od_queue_none = The clinic has no on-demand queue for your specialty.
od_take = Take the next patient
od_since = Waiting since
clinic_title = The clinic
clinic_intro = What patients see of the clinic on every page and in every email, the visits it offers and its rules for booking. Changes apply at once.
clinic_contact = Name and contact
clinic_name = Name of the clinic
clinic_phone_label = Phone for patients
clinic_email = Contact email for patients
clinic_hours = When the phone is answered
clinic_hours_example = Mon–Fri 8:00–18:00
clinic_address = Address
clinic_place = Zone, currency and languages
clinic_zone_hint = An IANA zone such as Europe/Madrid: guests' pages and new schedules use it.
clinic_currency_hint = Three letters, such as EUR: the fees of schedules saved from now on are in it.
clinic_languages = Languages offered
clinic_default_language = default
clinic_visits_hint = Only the kinds offered can be booked. Each clinician sets their own length and fee; these are where a new schedule starts.
clinic_policy = Booking rules
clinic_reminders = Reminders (hours before)
clinic_reminders_hint = Several reminders separated by commas, e.g. 24, 1; leave it empty for none.
clinic_cutoff = Patients can move or cancel until (hours before)
clinic_check_in = Check-in opens (minutes before)
clinic_noshow = No-show after (minutes)
clinic_on_demand = Specialties seen on demand
clinic_on_demand_hint = Patients may ask to be seen now in these specialties (as clinicians name theirs), separated by commas; any clinician of the specialty takes the next patient.
clinic_logo = Logo
clinic_logo_choose = Logo image
clinic_logo_hint = PNG, JPEG or WebP, up to { $kib } KiB; shown beside the name on every page.
clinic_logo_upload = Upload the logo
clinic_logo_remove = Remove the logo
clinic_consent_hint = Publishing a new version asks every patient to accept it before their next video visit. Published versions are kept unchanged, with who accepted which.
clinic_consent_publish = Publish as a new version
clinic_consent_published = The new consent version is published.
clinic_consent_versions = Published versions
clinic_consent_published_at = Published
code_find = Find the code: type words of the diagnosis, test or vaccine, or the start of its code
code_choices = Codes found
code_nothing_found = No code of this kind has these words. Try fewer or shorter words.
code_not_coded_here = This part of the chart is written in words; no code to look up.
code_typed_yourself = Or type the code yourself
code_chosen_differs = The code chosen from the list and the code typed differ: keep one of them.
nav_terminology = Code systems
term_title = Code systems
term_intro = Clinicians pick diagnoses, tests and vaccines from these code systems as they type. telemed starts with a set of common codes; import the full releases here. An import adds and updates codes and marks those the release no longer lists inactive; nothing is deleted, and charts keep the codes they hold.
term_system = Code system
term_active = Active codes
term_inactive = Inactive
term_held = What is held
term_starter = telemed's starter set
term_imported = A full release, imported
term_import = Import a release
term_import_hint = ICD-10-CM: the order file CMS publishes (icd10cm_order_2026.txt). LOINC: the table of a release (LoincTable/Loinc.csv). The import runs in the background; this page shows how far it has come.
term_file = Release file
term_start = Start the import
term_started = The import has started.
term_imports = Imports
term_file_name = File
term_status = Status
term_progress = Progress
term_running = running
term_done = done
term_failed = failed
term_codes_read = { $concepts ->
        [one] one code read
       *[other] { $concepts } codes read
    } ({ $added } new, { $retired } retired)
term_no_imports = No release has been imported yet.
term_choose_file = Choose the release file to import.

## Emails. Never anything clinical: links, dates and codes only.

mail_verify_email_subject = Confirm your email for { $clinic }
mail_verify_email_body =
    Hello,

    To confirm your address and activate your { $clinic } account, open this link (valid for 24 hours):

    { $link }

    If you did not create an account, ignore this message.
mail_sign_in_code_subject = Your { $clinic } sign-in code: { $code }
mail_sign_in_code_body =
    Hello,

    Your code to sign in to { $clinic } is:

    { $code }

    Type it on the page where you asked for it. It works once, for { $minutes } minutes.

    If you did not ask for it, ignore this message: no one can sign in without the code.
mail_account_exists_subject = You already have a { $clinic } account
mail_account_exists_body =
    Hello,

    Someone tried to create a { $clinic } account with this address, but you already have one.

    Sign in: { $sign_in }
    Forgot your password: { $reset }

    If this was not you, ignore this message.
mail_reset_password_subject = Reset your { $clinic } password
mail_reset_password_body =
    Hello,

    To choose a new password, open this link (valid for 1 hour):

    { $link }

    If you did not ask for this, ignore this message: your password stays the same.
mail_proxy_invitation_subject = An invitation to access a record on { $clinic }
mail_proxy_invitation_body =
    Hello,

    A patient of the clinic invited you to see their health record on their behalf (as a relative or carer). To see who invited you and accept or decline, sign in with this email address and open (valid for { $days ->
        [one] one day
       *[other] { $days } days
    }):

    { $link }

    If you have no account, register as a patient with this same address. If you do not expect this invitation, ignore this message: nothing changes without your answer.
mail_new_message_subject = You have a new message on { $clinic }
mail_new_message_body =
    Hello,

    You have a new secure message. Read it here (sign-in required):

    { $link }

    For your privacy, the message itself is not sent by email.
mail_emergency_access_subject = Emergency access to your { $clinic } record
mail_emergency_access_body =
    Hello,

    On { $when }, a clinician without a care relationship with you opened your health record in an emergency. Such access is recorded with its reason and reviewed by the clinic.

    See who and why (sign-in required):

    { $link }

    If something looks wrong, contact the clinic.
mail_invitation_subject = Your invitation to { $clinic }
mail_invitation_body =
    Hello,

    You have been invited to join { $clinic } as { $role }. To create your account, open this link (valid for 7 days):

    { $link }
mail_visit_booked_subject = Your { $clinic } visit is booked
mail_visit_booked_body =
    Hello,

    Your visit is booked for { $when }.

    See or change it: { $link }

    The attached invitation adds it to your calendar.
mail_visit_reminder_subject = Reminder: your { $clinic } visit
mail_visit_reminder_body =
    Hello,

    A reminder of your visit on { $when }.

    Details: { $link }
mail_visit_cancelled_subject = Your { $clinic } visit is cancelled
mail_visit_cancelled_body =
    Hello,

    Your visit on { $when } is cancelled.

    Book another time: { $link }
mail_visit_rescheduled_subject = Your { $clinic } visit has a new time
mail_visit_rescheduled_body =
    Hello,

    Your visit is now on { $when }.

    See or change it: { $link }

    The attached invitation updates your calendar.
mail_visit_patient_booked_subject = A patient booked a { $clinic } visit with you
mail_visit_patient_booked_body =
    Hello,

    A patient booked a visit with you on { $when }.

    Your day: { $link }
mail_visit_patient_cancelled_subject = A { $clinic } visit was cancelled by the patient
mail_visit_patient_cancelled_body =
    Hello,

    The patient cancelled the visit on { $when }. The time is free again.

    Your day: { $link }
mail_visit_patient_rescheduled_subject = A { $clinic } visit was moved by the patient
mail_visit_patient_rescheduled_body =
    Hello,

    The patient moved a visit; it is now on { $when }.

    Your day: { $link }
mail_visit_start_now_subject = Your clinician is waiting for you now ({ $clinic })
mail_visit_start_now_body =
    Hello,

    Your clinician has started a video visit with you and is waiting for you now ({ $when }).

    Join it: { $link }

    If you are not signed in on this device, that page emails you a code to sign in with (or use your password).

## Text messages (SMS): short, in the clinic's name, never anything clinical.

sms_confirm_mobile = { $clinic }: { $code } is your code to confirm this number. It works for { $minutes } minutes.
sms_sign_in_code = { $clinic }: { $code } is your sign-in code. It works once, for { $minutes } minutes.
sms_visit_booked = { $clinic }: your visit is booked for { $when }. { $link }
sms_visit_reminder = { $clinic }: a reminder of your visit on { $when }. { $link }
sms_visit_cancelled = { $clinic }: your visit on { $when } is cancelled. { $link }
sms_visit_rescheduled = { $clinic }: your visit is now on { $when }. { $link }
sms_visit_patient_booked = { $clinic }: a patient booked a visit with you on { $when }. { $link }
sms_visit_patient_cancelled = { $clinic }: a patient cancelled the visit on { $when }. { $link }
sms_visit_patient_rescheduled = { $clinic }: a patient moved a visit to { $when }. { $link }
sms_visit_start_now = { $clinic }: your clinician is waiting for you in a video visit now. { $link }

## The account's mobile number and how notices come.

mobile_title = Text messages (SMS)
mobile_intro = Reminders, links to your visits and sign-in codes can also come by text message. Texts never hold clinical details.
mobile_number = Mobile number, with its country code
mobile_send_code = Send a code to this number
mobile_code_sent = We have sent a code to { $number }. Type it here to confirm the number.
mobile_code = Code from the text message
mobile_confirm = Confirm the number
mobile_confirmed = Texts go to { $number }.
mobile_none = No mobile number is confirmed yet.
mobile_remove = Forget the number
mobile_removed = The number is forgotten: no texts will come.
mobile_bad_number = Write the number with its country code, such as +34 600 111 222.
mobile_wrong_code = That code is not right. Check the newest text message.
mobile_code_gone = No code is waiting any more: send a new one.
prefs_by_email = Email
prefs_by_sms = Text message
prefs_codes = Sign-in codes
prefs_sms_needs_number = Texts go only to a confirmed mobile number.
