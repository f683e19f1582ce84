"""A ServiceCaller for model tests: records every call and answers like the real services would."""

from services.sla.operators import OPERATORS


class RecordingCaller:
    operators = frozenset(OPERATORS)

    def __init__(self, clock, agency_tz="Asia/Makassar"):
        self.clock = clock
        self.agency_tz = agency_tz
        self.calls: list[tuple[str, dict, str]] = []
        self.failing: set[str] = set()

    def call(self, operator, params, idempotency_key):
        if operator in self.failing:
            raise ConnectionError(f"{operator} is down")
        self.calls.append((operator, params, idempotency_key))
        if operator == "routing/AssignReport":
            return {"agency_id": "kab-tanah-bumbu-pupr", "agency_name": "Dinas PUPR Kabupaten Tanah Bumbu",
                    "timezone": self.agency_tz, "assigned_at": self.clock.now().isoformat()}
        return {}

    def notifications(self):
        return [(p["event"], p["recipient"]) for op, p, _ in self.calls if op == "notify/SendNotification"]

    def statuses(self):
        return [p["status"] for op, p, _ in self.calls if op == "intake/SetReportStatus"]
