"""The wizard's steps as forms; their rules come from ``validation`` (shared with the API)."""

from __future__ import annotations

from typing import Any

from django import forms

from ingestion_wizard import services
from ingestion_wizard.aws import network
from ingestion_wizard.models import JDBC_KINDS, LOCAL_KINDS
from ingestion_wizard.sources import TableInfo
from ingestion_wizard.validation import (
    CLASSIFICATIONS,
    DEFAULT_PORTS,
    LAYERS,
    describe_cron,
    parse_stream_columns,
    parse_table_ref,
    validate_cron,
    validate_glue_name,
    validate_pipeline_name,
    validate_stream_name,
)

KIND_CHOICES = [
    ("postgresql", "PostgreSQL — bounded, JDBC"),
    ("mysql", "MySQL / MariaDB — bounded, JDBC"),
    ("oracle", "Oracle — bounded, JDBC through Glue"),
    ("sqlserver", "SQL Server — bounded, JDBC through Glue"),
    ("kinesis", "New Kinesis stream — unbounded, producers write to it"),
    ("kinesis-existing", "Existing Kinesis stream — unbounded"),
]


def _as_validator(fn: Any) -> Any:
    """A validation.* rule (raises ValueError) as a Django field validator."""
    def validator(value: Any) -> None:
        try:
            fn(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
    return validator


class SourceKindForm(forms.Form):
    kind = forms.ChoiceField(choices=KIND_CHOICES, widget=forms.RadioSelect, label="What kind of source?")


class ConnectionForm(forms.Form):
    """Host, port, database, user, password. The password is put into Secrets Manager as soon
    as the step is saved (see views.IngestionWizard.process_step); only the ARN is kept."""

    host = forms.CharField(max_length=253, help_text="Host name or IP address of the database server.")
    port = forms.IntegerField(min_value=1, max_value=65535)
    database = forms.CharField(max_length=255, help_text="Database (or Oracle service) name.")
    user = forms.CharField(max_length=255)
    password = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False,
                               help_text="Goes straight to AWS Secrets Manager; the portal keeps only its ARN.")
    secret_arn = forms.CharField(widget=forms.HiddenInput, required=False)
    subnet_id = forms.CharField(max_length=32, required=False, label="Subnet",
                                help_text="For a source in a private network: the subnet the Glue job connects "
                                          "from (subnet-…); its availability zone is looked up.")
    security_group_ids = forms.CharField(max_length=200, required=False, label="Security groups",
                                         help_text="For a private source: sg-… ids of the subnet's VPC, "
                                                   "comma-separated.")

    def __init__(self, *args: Any, kind: str = "postgresql", draft: Any = None, role: Any = None, actor: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.draft, self.role, self.actor = draft, role, actor
        self.fields["port"].initial = DEFAULT_PORTS.get(kind)
        self.server_version = ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        if not data.get("password") and not data.get("secret_arn"):
            self.add_error("password", "Give the password.")
            return data
        try:
            # Glue connects to the other kinds from the lake's network; the host rule applies alike.
            services.check_source_host(data["host"], data["port"], data["database"])
        except services.IngestionError as exc:
            self.add_error("host", exc.message)
            return data
        data["security_group_ids"] = [g.strip() for g in (data.get("security_group_ids") or "").split(",")
                                      if g.strip()]
        try:
            network.placement_for(data["host"], data["port"], data.get("subnet_id") or "",
                                  data["security_group_ids"])
        except services.IngestionError as exc:
            self.add_error((exc.field or "").rpartition(".")[2] or None, exc.message)
            return data
        if self.kind not in LOCAL_KINDS:
            return data  # the Glue job connects; nothing to test from the portal
        try:
            conn = services.connection_from(self.kind, data["host"], data["port"], data["database"], data["user"],
                                            password=data.get("password") or None, secret_arn=data.get("secret_arn", ""),
                                            actor=self.actor, role=self.role, draft=self.draft)
            self.server_version = services.test_connection(conn, user=self.actor)
        except services.IngestionError as exc:
            raise forms.ValidationError(f"Could not connect: {exc.message}") from None
        return data


class StreamForm(forms.Form):
    stream_name = forms.CharField(max_length=128, validators=[_as_validator(validate_stream_name)])
    shards = forms.IntegerField(min_value=1, max_value=50, initial=1, required=False,
                                help_text="Shards of the new stream (1 MB/s of writes each).")
    columns = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False,
                              help_text="One 'name type' per line, e.g. 'order_id bigint'.",
                              validators=[_as_validator(parse_stream_columns)])
    transform = forms.ChoiceField(required=False, label="Record transformation", choices=[
        ("", "None: records land as sent"), ("json_lines", "JSON lines (one object per line; invalid JSON to errors)"),
        ("arrival_time", "JSON lines with the arrival time (_arrival_time)")],
        help_text="A Lambda Firehose calls before writing to the lake.")
    prep_reference_table = forms.CharField(max_length=511, required=False, label="Prep stage: reference table",
                                           help_text="Optional catalog table database.table whose rows enrich "
                                                     "each event into the prepared layer.")
    prep_join_key = forms.CharField(max_length=255, required=False, label="Prep stage: join key",
                                    help_text="The field events and reference rows share, e.g. vehicle_id.")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("prep_reference_table")) != bool(data.get("prep_join_key")):
            self.add_error("prep_join_key", "The prep stage needs both the reference table and the join key.")
        return data


class DiscoveryForm(forms.Form):
    """The source's tables as checkboxes with an optional incremental column each; for kinds
    the portal cannot read (Oracle, SQL Server) a list typed by the provider instead."""

    def __init__(self, *args: Any, tables: list[TableInfo] | None = None, error: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.discovered = tables
        self.discovery_error = error
        if tables is None:
            self.fields["typed_tables"] = forms.CharField(
                widget=forms.Textarea(attrs={"rows": 4}), label="Tables",
                help_text="One schema.table per line (read by the Glue job).")
            return
        self.fields["tables"] = forms.MultipleChoiceField(
            choices=[(t.ref, t.ref) for t in tables], widget=forms.CheckboxSelectMultiple,
            error_messages={"required": "Pick at least one table."})
        for t in tables:
            self.fields[f"inc:{t.ref}"] = forms.ChoiceField(
                choices=[("", "— full load —")] + [(c.name, c.name) for c in t.columns], required=False,
                label=f"Incremental column of {t.ref}")

    def rows(self) -> list[dict[str, Any]]:
        return [{"table": t, "checkbox": next(c for c in self["tables"] if c.data["value"] == t.ref),
                 "incremental": self[f"inc:{t.ref}"]} for t in (self.discovered or [])]

    def clean(self) -> dict[str, Any]:
        if self.discovery_error:
            raise forms.ValidationError(self.discovery_error)
        data = super().clean()
        chosen: list[dict[str, str]] = []
        if self.discovered is None:
            for line in (data.get("typed_tables") or "").splitlines():
                if line.strip():
                    try:
                        schema, name = parse_table_ref(line)
                    except ValueError as exc:
                        self.add_error("typed_tables", str(exc))
                        return data
                    chosen.append({"schema": schema, "name": name, "incremental_column": ""})
        else:
            for ref in data.get("tables") or []:
                schema, name = parse_table_ref(ref)
                chosen.append({"schema": schema, "name": name, "incremental_column": data.get(f"inc:{ref}") or ""})
        data["chosen"] = chosen
        return data


class TargetForm(forms.Form):
    name = forms.CharField(max_length=100, label="Pipeline name", validators=[_as_validator(validate_pipeline_name)],
                           help_text="Lower-case letters, digits and hyphens, e.g. erp-orders.")
    hub = forms.ChoiceField(choices=[])
    layer = forms.ChoiceField(choices=[(x, x) for x in LAYERS], initial="source")
    database = forms.CharField(max_length=255, label="Glue database name",
                               validators=[_as_validator(validate_glue_name)],
                               help_text="Lower-case letters, digits and underscores, e.g. finance_erp_raw.")
    owner = forms.CharField(max_length=255, required=False)
    classification = forms.ChoiceField(choices=[(x, x) for x in CLASSIFICATIONS], initial="internal")
    partitioning = forms.ChoiceField(choices=[("load_date", "By load date (load_date=YYYY-MM-DD)"),
                                              ("none", "None")], initial="load_date")

    def __init__(self, *args: Any, hubs: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hub"].choices = [(h, h) for h in hubs or []]

    def clean_database(self) -> str:
        name = self.cleaned_data["database"]
        try:
            problem = services.target_database_problem(name)
        except services.IngestionError as exc:
            raise forms.ValidationError(exc.message) from None
        if problem:
            raise forms.ValidationError(problem)
        return name


class ScheduleForm(forms.Form):
    mode = forms.ChoiceField(choices=[("on_demand", "On demand (Run now)"), ("cron", "On a schedule (cron, UTC)")],
                             widget=forms.RadioSelect, initial="on_demand")
    cron = forms.CharField(max_length=120, required=False, help_text="minute hour day-of-month month day-of-week")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("mode") == "cron":
            try:
                data["cron"] = validate_cron(data.get("cron") or "")
                data["description"] = describe_cron(data["cron"])
            except ValueError as exc:
                self.add_error("cron", str(exc))
        elif (data.get("cron") or "").strip():
            # Dropping what was typed without a word would leave a pipeline that never runs by itself.
            self.add_error("cron", "You typed a schedule but chose “On demand”: choose “On a schedule” to use it, "
                                   "or clear the field.")
        else:
            data["cron"] = ""
        return data


class ReviewForm(forms.Form):
    confirm = forms.BooleanField(label="Create the pipeline and provision its AWS resources")


FORMS = [
    ("source", SourceKindForm),
    ("connection", ConnectionForm),
    ("stream", StreamForm),
    ("discovery", DiscoveryForm),
    ("target", TargetForm),
    ("schedule", ScheduleForm),
    ("review", ReviewForm),
]
STEP_TITLES = {"source": "Source kind", "connection": "Connection", "stream": "Stream", "discovery": "Tables",
               "target": "Target", "schedule": "Schedule", "review": "Review"}


def is_jdbc(kind: str | None) -> bool:
    return kind in JDBC_KINDS
