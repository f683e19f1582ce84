"""Hostile input (issue 9, point 3): what each point of the issue asks, and the test that shows it.

Fuzzing, with the number of cases each run sent printed at the end of the session (conftest.py):

- schemathesis against the portal's OpenAPI document (/api/v1): test_rest_api_schema, every operation
  over the real intake and PostgreSQL with the key kind it needs; no 5xx, every answer as the document
  declares it (status, content type, headers, schema), no partial write (conftest.PARTIAL_WRITES).
- Open311: the portal serves no OpenAPI document for it. test_open311_schema runs schemathesis from the
  community's Swagger 2.0 description (shared/open311), which only vouches for "no 5xx, answered in the
  format asked"; test_open311_inputs generates the POST's form fields and the GET filters with hypothesis
  (no 5xx, well-formed JSON or XML, a whole report or nothing stored).
- hypothesis over the gRPC request messages of every service: test_grpc_requests, every RPC of intake,
  verification, routing, sla and notify, requests built from the descriptors (grpc_messages), called as
  the access matrix allows; never UNKNOWN, INTERNAL or a timeout, no partial write.

Focused:

- Oversized bodies and attachments: a REST body over its limit is 413 and stores nothing
  (tests/portal/test_api_reports.py::test_a_body_over_the_limit_is_refused_before_it_is_read, also
  chunked); any surface, before the body is read (test_pages.py::
  test_a_body_larger_than_any_surface_takes_is_refused_before_it_is_read); the web form
  (test_pages.py::test_an_oversized_form_is_refused); Open311 (test_open311.py::
  test_a_body_too_large_is_refused_in_the_api_form); attachments over 5 MiB or more than five
  (test_api_reports.py::test_more_than_five_attachments_or_one_over_5_mib_are_refused,
  test_reporter_attachments.py::test_a_file_over_five_mib_is_refused, test_agency_console.py::
  test_files_over_the_upload_limit_are_refused_before_anything_is_read); attachments of up to 6 MiB
  of random bytes in every gRPC bytes field (test_grpc_requests).
- Malformed JSON: test_api_reports.py::test_a_body_that_is_not_a_json_object_is_refused (truncated,
  NaN, not an object, not UTF-8, wrong media type); JSON nested deeper than the parser's stack and
  strings holding lone surrogates, on every API body and X's webhook: test_bytes_on_the_wire;
  X events that are not JSON: test_webhooks.py::test_malformed_events_are_400.
- Malformed XML: Open311 reads form fields only, never an XML body (test_open311_inputs::
  test_an_xml_or_json_body_is_not_read_and_stores_nothing); what it writes is well-formed XML whatever a
  report holds (test_open311_inputs, test_open311.py::test_xml_carries_any_text_a_report_may_hold).
  The one XML a service reads is a process model: external entities, a billion laughs, cut or not XML
  are INVALID_ARGUMENT and deploy nothing (test_grpc_requests::
  test_a_malformed_or_hostile_model_is_refused_and_nothing_deployed; the upload page:
  tests/portal/test_process_pages.py).
- Invalid UTF-8: in a JSON body (test_api_reports.py, above); in the path and query of every surface and
  in a web form (test_bytes_on_the_wire); in an Open311 form (test_open311_inputs::
  test_a_form_that_is_not_utf8_is_refused_and_stores_nothing); in any string field of any gRPC request
  (test_grpc_requests::test_a_string_field_that_is_not_utf8_is_refused_as_invalid). Never a 5xx.
- Script injection in every text field, rendered escaped on the reporter's tracking page, the public
  report page and feed, and the staff pages (verification queue and report, agency inbox and report):
  test_rendered_escaped::test_every_text_field_is_shown_escaped_wherever_it_is_shown
  (also tests/portal/test_pages.py::test_everything_typed_is_escaped).
- SQL metacharacters stored and read back verbatim: test_rendered_escaped::
  test_sql_metacharacters_in_every_text_field_are_stored_and_read_back_verbatim; in every string of every
  gRPC request (test_grpc_requests); tests/intake/test_submit.py (a category with "; DROP TABLE").
"""
