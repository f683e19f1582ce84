"""A ServiceCaller for model tests: records every call and answers like the real services would."""


class RecordingCaller:
    def __init__(self, clock, agency_tz="Asia/Makassar"):
        self.clock = clock
        self.agency_tz = agency_tz
        self.calls: list[tuple[str, dict, str]] = []
        self.failing: set[str] = set()
        self.agencies = ["kab-tanah-bumbu-dinas-pupr", "kab-tanah-bumbu", "nasional"]  # routing's fallback order
        # Each one's parent as sla's projection of routing's answer gives it: the national desk tops the directory
        # and is its own parent (routing has none for it). A test sets one to "" for an answer without a parent.
        self.parents = {"kab-tanah-bumbu-dinas-pupr": "kab-tanah-bumbu", "kab-tanah-bumbu": "prov-kalimantan-selatan",
                        "nasional": "nasional"}

    def call(self, operator, params, idempotency_key):
        if operator in self.failing:
            raise ConnectionError(f"{operator} is down")
        if operator == "notify/SendNotification" and params["recipient"] == "agency" and not params.get("agency_id"):
            raise ValueError("INVALID_ARGUMENT: agency_id is required for recipient agency")  # as notify answers
        self.calls.append((operator, params, idempotency_key))
        if operator == "routing/AssignReport":
            excluded = params.get("excluded_agency_ids", [])
            agency = next(a for a in self.agencies if a not in excluded)
            return {"agency_id": agency, "agency_name": f"Agency {agency}", "timezone": self.agency_tz,
                    "parent_id": self.parents[agency], "assigned_at": self.clock.now().isoformat()}
        return {}

    def notifications(self):
        return [(p["event"], p["recipient"]) for op, p, _ in self.calls if op == "notify/SendNotification"]

    def statuses(self):
        return [p["status"] for op, p, _ in self.calls if op == "intake/SetReportStatus"]
