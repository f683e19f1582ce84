"""Issue 9, point 4: security. Where each clause is shown, and whether the tests would catch it breaking.

Audited 2026-11-29 by reading each test named here. A clause is "shown" by tests that fail when the
property breaks, not by tests that merely touch it; weaker ones are named with what they miss. The test
below fails when a named test is renamed or removed, so this map cannot rot silently.

1. Unauthenticated and wrongly authenticated gRPC calls between services are refused.
   - tests/access/test_access_matrix.py::test_a_bad_identity_is_unauthenticated_for_every_action_and_changes_nothing
     Every action of every service with the identity that may do it made forged (signed with another key),
     expired, unknown-role or missing: UNAUTHENTICATED, and no row of any schema changes. Would fail.
   - tests/access/test_access_matrix.py::test_every_refusal_is_permission_denied_and_changes_nothing
     Staff and reporter identities on service-only actions (SubmitReport only as portal, ForwardReport only
     as sla, GetReporterContact only as notify, ...) and services on others' actions: PERMISSION_DENIED.
   - tests/plumbing/test_clock_and_identity.py::test_forged_tampered_and_expired_identities_are_refused (unit)
   - tests/security/test_grpc_callers.py::test_a_submission_with_a_bad_identity_is_unauthenticated_and_stores_nothing
     (new: claims changed after signing, no signature, a token of another kind, expired by a second)
   - tests/security/test_grpc_callers.py::test_a_service_signing_with_another_key_is_refused_by_the_service_it_calls
   - tests/security/test_grpc_callers.py::test_a_streaming_method_is_refused_not_served_unchecked
     (new; found the edge interceptor passing non-unary methods through unchecked, fixed)
   - tests/security/test_grpc_callers.py::test_every_rpc_of_every_service_is_unary
   Not held, by design: identities carry no audience or nonce, so one captured on the wire is good at every
   service until it expires (10 minutes), and every service holds the one key that signs any identity.

2. The access matrix of staff roles holds.
   - tests/access/test_access_matrix.py::test_every_action_of_every_service_is_in_the_matrix (no RPC unlisted)
   - tests/access/test_access_matrix.py::test_every_refusal_is_permission_denied_and_changes_nothing
   - tests/access/test_access_matrix.py::test_every_allowed_action_passes_and_the_reporter_name_reaches_national_administrators_only
   - tests/access/test_access_matrix.py::test_an_agency_declines_only_its_own_report
   - tests/access/test_access_matrix.py::test_reporters_and_agencies_see_only_their_own_notifications
     All against the running system, own and other agency, named and anonymous report. Would fail.
   The portal's pages by role (they only ask; the services decide, above):
   - tests/portal/test_staff_sign_in.py::test_the_staff_home_links_only_to_pages_the_role_works_in
   - tests/portal/test_agency_console.py::test_other_roles_get_403
   - tests/portal/test_agency_console.py::test_another_agencys_report_is_refused_and_nothing_changes
   - tests/portal/test_agency_console.py::test_only_an_agency_administrator_may_dispatch
   - tests/portal/test_verification_console.py::test_other_roles_are_refused_and_change_nothing
   - tests/portal/test_routing_consoles.py::test_other_roles_get_the_403_page_and_change_nothing
   - tests/portal/test_process_pages.py::test_agency_staff_get_the_403_page_and_no_links
   - tests/portal/test_staff_accounts.py::test_who_may_make_which_account
   - tests/portal/test_staff_passwords.py::test_who_may_reset_which_password

3. Confidential reports and anonymous identities appear on no public or agency surface.
   - tests/e2e/test_privacy_sweep.py::test_nothing_private_reaches_a_public_surface_or_an_agency_it_must_not
     A fixed list of public surfaces (web, REST, Open311 in both formats; lists, details, searches) and
     agency answers (gRPC, REST with an agency key), searched as text; it asserts the public reports are
     found, so it can fail. It did not crawl pages, nor the agency's HTML console.
   - tests/security/test_pages_crawled.py::test_no_public_page_shows_a_confidential_report_or_a_reporter (new)
   - tests/security/test_pages_crawled.py::test_no_agency_page_shows_a_reporter (new: liaison officer and
     agency administrator signed in, every page linked from /staf)
   - tests/security/test_pages_crawled.py::test_no_e_mail_to_staff_names_a_reporter (new)
   - tests/access/test_access_matrix.py::test_every_allowed_action_passes_and_the_reporter_name_reaches_national_administrators_only
     (every allowed gRPC answer, every role: no phone or e-mail, the anonymous name nowhere)
   - tests/portal/test_pages.py::test_the_tracking_page_never_shows_who_reported

4. Reporter contact details and secrets never appear in logs.
   - tests/security/test_secrets_stay_out_of_logs.py::test_no_contact_detail_or_secret_reaches_any_services_log
     (new: six processes at DEBUG, every door, every secret; found notify logging the address a mail
     server refused, fixed)
   - tests/portal/test_webhooks.py::test_neither_the_secret_nor_the_text_reaches_the_logs (portal, SMS)
   - tests/notify/test_sms_and_x_delivery.py::test_the_gateway_password_and_the_phone_number_stay_out_of_errors_and_logs
   - tests/portal/test_observation.py::test_the_request_id_given_to_the_portal_is_in_its_log_and_in_intakes_and_no_contact_details_are
   - tests/plumbing/test_request_ids.py::test_an_id_not_shaped_like_one_is_replaced_and_never_logged
   Weak: tests/e2e/test_report_lifecycle.py::test_operators_see_each_services_metrics_and_follow_a_request_by_its_id_without_contact_details
   looks for "@contoh.id" only, at INFO.

5. Sessions rotate at login.
   - tests/security/test_session_rotation.py::test_passing_a_door_gives_a_new_session_id_and_the_old_one_gets_nothing
     (new: staff and reporter sign-in, registration, access code, sending a report; over HTTP)
   - tests/security/test_session_rotation.py::test_an_id_the_portal_never_issued_is_not_adopted (new)
   - tests/security/test_session_rotation.py::test_staff_sign_in_also_gives_a_new_csrf_token (new)
   - tests/portal/test_staff_sign_in.py::test_signing_in_gives_the_session_a_new_id_and_the_old_one_is_worth_nothing
   - tests/portal/test_pages.py::test_the_session_id_changes_when_the_session_gains_access_to_a_report
   - tests/portal/test_staff_passwords.py::test_a_changed_password_rotates_the_session_and_ends_the_accounts_other_sessions
   - tests/portal/test_reporter_sessions.py::test_rotating_gives_a_new_id_and_token_and_keeps_the_data_and_the_absolute_expiry (store)
   Weak: tests/portal/test_reporter_accounts.py::test_signing_in_renews_the_session_and_a_csrf_less_sign_in_is_refused
   checks a new id only, not that the old one is worthless (now in test_session_rotation.py).

6. Webhook signatures and secrets are enforced.
   - tests/portal/test_webhooks.py::test_an_sms_without_the_right_secret_is_refused_and_nothing_stored
   - tests/portal/test_webhooks.py::test_events_without_the_right_signature_are_refused_and_nothing_stored
   - tests/portal/test_webhooks.py::test_the_webhooks_refuse_everything_when_no_secret_is_configured
   - tests/portal/test_webhooks.py::test_a_redelivered_sms_makes_one_report
   - tests/portal/test_webhooks.py::test_a_redelivered_tweet_makes_one_report
   - tests/security/test_webhook_signatures.py::test_the_crc_challenge_cannot_be_made_to_sign_an_event
     (new; found that the CRC answer signed any token, so anyone could sign an event; fixed)
   - tests/security/test_webhook_signatures.py::test_a_signature_of_another_body_does_not_sign_this_one
   - tests/security/test_webhook_signatures.py::test_the_signature_is_taken_in_its_one_form_only
   - tests/security/test_webhook_signatures.py::test_a_replayed_signed_event_makes_nothing_new
   - tests/security/test_webhook_signatures.py::test_a_replayed_sms_makes_nothing_new_even_posted_or_with_the_secret_in_the_header
   - tests/security/test_webhook_signatures.py::test_the_sms_secret_in_a_posted_form_is_not_taken
   - tests/security/test_webhook_signatures.py::test_a_wrong_header_is_not_saved_by_a_right_query_secret
   API keys of the other machine doors:
   - tests/portal/test_api_keys.py::test_a_request_without_a_valid_key_is_unauthorised
   - tests/portal/test_api_keys.py::test_a_revoked_key_is_unauthorised
   - tests/portal/test_open311.py::test_posting_needs_a_valid_api_key
   Not held, by the protocols: neither Kannel nor X signs a time, so a replay is stopped by the message
   or tweet id (one report per id), not refused.

7. Rate limits on login, submission and webhooks.
   Login:
   - tests/portal/test_staff_sign_in.py::test_the_fifth_failure_within_the_window_locks_the_account_for_a_while
   - tests/portal/test_staff_sign_in.py::test_one_address_failing_with_many_usernames_is_refused_for_a_while
   - tests/portal/test_rate_limits_pages.py::test_an_address_with_too_many_failed_sign_ins_is_refused_even_the_right_password
   - tests/portal/test_reporter_accounts.py::test_repeated_failed_sign_ins_are_refused_for_a_while
   - tests/portal/test_pages.py::test_repeated_wrong_codes_are_refused_for_a_while (access codes)
   Submission:
   - tests/portal/test_rate_limits_pages.py::test_an_address_sending_too_many_reports_from_the_form_is_refused_and_nothing_stored
     (new: the web form had no limit at all; added, 60 per address an hour)
   - tests/portal/test_rate_limits_api.py::test_a_keys_reports_past_its_budget_are_refused_and_stored_nowhere
   - tests/portal/test_rate_limits_pages.py::test_an_api_keys_posts_past_its_limit_are_refused_and_not_recorded (Open311)
   - tests/portal/test_rate_limits_pages.py::test_an_address_registering_too_often_is_refused_and_no_account_made
   Webhooks:
   - tests/portal/test_rate_limits_webhooks.py::test_messages_past_the_senders_limit_are_acknowledged_and_not_recorded
   - tests/portal/test_rate_limits_webhooks.py::test_an_address_that_keeps_sending_wrong_secrets_is_refused_even_the_right_one
   - tests/portal/test_rate_limits_webhooks.py::test_an_address_that_keeps_sending_bad_signatures_is_refused_even_a_good_one
   - tests/portal/test_rate_limits_webhooks.py::test_an_authors_mentions_past_the_limit_are_acknowledged_and_refused
   - tests/portal/test_rate_limits.py::test_concurrent_attempts_never_spend_more_than_the_budget
"""

import importlib
import re

from tests.support import ROOT

NODE_ID = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


def test_every_test_this_index_names_exists():
    named = NODE_ID.findall(__doc__)
    assert len(named) >= 60
    missing = []
    for path, name in named:
        if not (ROOT / path).is_file():
            missing.append(f"{path} (no such file)")
            continue
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        if not callable(getattr(module, name, None)) or not name.startswith("test_"):
            missing.append(f"{path}::{name}")
    assert not missing, "the security index names tests that are gone:\n" + "\n".join(missing)


def test_every_test_in_this_folder_is_in_the_index():
    """A security test added here is placed under its clause, so the index stays the whole picture."""
    named = {(path, name) for path, name in NODE_ID.findall(__doc__)}
    here = ROOT / "tests" / "security"
    unlisted = []
    for file in sorted(here.glob("test_*.py")):
        if file.name == "test_security_index.py":
            continue
        path = file.relative_to(ROOT).as_posix()
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        unlisted += [f"{path}::{n}" for n in vars(module) if n.startswith("test_") and callable(getattr(module, n))
                     and (path, n) not in named]
    assert not unlisted, "security tests not in the index:\n" + "\n".join(unlisted)
