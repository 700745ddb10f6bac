"""The SQL of each store schema version, as released. Never edited: a change is a new version appended here
and in :data:`.schema.MIGRATIONS`.

* v1: projects, experiments, runs, params, tags, metric chunks, artifacts.
* v2: ``latest_metrics`` (latest point, min, max, count per run and metric, back-filled from the chunks) so
  run lists and ``order_by`` a metric read one small row per run instead of decoding histories; indexes for
  the status filter (``mark_crashed_runs``, "show running") and tag filters.
* v3: ``queue``: training jobs waiting for a host's GPUs, in the store so a restart continues them (see
  :mod:`.queue_store`); a queued run has the run status "queued".
* v4: ``diagnostics``: what training measured inside the model (layer statistics, histograms, input
  statistics, the first NaN/Inf), one zlib-compressed JSON record per row (see :mod:`.diagnostics`).
* v5: ``runs.revision``: a store-wide change counter, set by triggers on every write to a run, its params,
  tags or latest metrics, so a view of the runs re-reads only those changed since it last looked
  (:meth:`Store.run_changes`); indexes for listing all runs by creation time and by revision.
* v6: ``notes``: the experiment notebook, timestamped Markdown notes (hypothesis, observation or note) on an
  experiment or on a run (see :mod:`.notes`).
* v7: the model registry: registered models, their versions (a run, its graph and its verified ONNX export,
  kept in the artifact area), the stage of each version (at most one in production per model), approvals,
  stage transitions and gate results, each with who and when (see :mod:`neuralforge_desktop.core.registry`).
* v8: monitoring of served models (see :mod:`neuralforge_desktop.core.monitoring`): every served request
  (``monitor_requests``), sampled inputs and predictions (``monitor_samples``, zlib-compressed JSON),
  labels sent back (``monitor_feedback``), drift reports (``monitor_drift``) and alerts (``monitor_alerts``).
* v9: ``pipeline_runs`` and ``pipeline_stages``: deployment pipelines (train → … → serve), one row per run of a
  pipeline file and one per stage of it, with its status, times, outputs and artifacts (see :mod:`.pipelines`).
* v10: ``audit_log``: the append-only, hash-chained record of who did what (runs, datasets read, graphs saved,
  exports, registry transitions, serving) and ``audit_keys``, the public keys its entries are signed with (see
  :mod:`neuralforge_desktop.core.audit`).
* v11: ``model_cards``: one model card per registered model version (rendered Markdown, the generated facts, the
  human sections as JSON, who and when, and the registration time of the version it was written for), see
  :mod:`neuralforge_desktop.core.cards`.
* v12: ``runs.created_by`` and ``projects.owner``: who created each run and owns each project.
* v13: ``users`` (the accounts of a shared store) and ``project_members`` (each user's role in a project: viewer,
  contributor, approver or admin), see :mod:`neuralforge_desktop.core.team.access`.
* v14: ``comments`` (threaded comments on runs, graphs, model versions and experiments, a graph's pinned to a
  node), ``comment_mentions`` (who each comment mentions, for the inbox) and ``review_requests`` (approval
  requests on model versions and their decisions), see :mod:`neuralforge_desktop.core.team.comments` and
  :mod:`neuralforge_desktop.core.team.reviews`.
* v15: ``project_budgets`` (a monthly budget per project: amount, currency label, alert thresholds in percent,
  hard stop) and ``budget_alerts`` (one row per project, month and threshold crossed), see
  :mod:`neuralforge_desktop.core.team.budgets`.
"""

V1 = (
    """CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created REAL NOT NULL)""",
    """CREATE TABLE experiments (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created REAL NOT NULL,
        UNIQUE (project_id, name))""",
    # status is checked in Python, not with CHECK: a new status would otherwise need a table rebuild.
    """CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        created REAL NOT NULL,
        started REAL,
        ended REAL,
        cpu_seconds REAL NOT NULL DEFAULT 0,
        gpu_seconds REAL NOT NULL DEFAULT 0,
        graph_sha256 TEXT,
        checksum TEXT,
        environment TEXT NOT NULL DEFAULT '{}',
        pid INTEGER,
        hostname TEXT,
        process_start TEXT)""",
    "CREATE INDEX runs_by_experiment ON runs (experiment_id, created)",
    # params hold JSON text so 0.001 comes back a float and 32 an int; tags are plain strings.
    """CREATE TABLE params (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)) WITHOUT ROWID""",
    """CREATE TABLE tags (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)) WITHOUT ROWID""",
    # A rowid table on purpose: WITHOUT ROWID suits small rows, and these rows carry ~100 KB blobs.
    """CREATE TABLE metric_chunks (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        seq INTEGER NOT NULL,
        count INTEGER NOT NULL,
        min_step INTEGER NOT NULL,
        max_step INTEGER NOT NULL,
        encoding INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (run_id, name, seq))""",
    """CREATE TABLE artifacts (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (run_id, name)) WITHOUT ROWID""",
    "CREATE INDEX artifacts_by_sha ON artifacts (sha256)",
)

V2 = (
    # No NOT NULL on value/min/max: SQLite stores NaN as NULL.
    """CREATE TABLE latest_metrics (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        step INTEGER NOT NULL,
        value REAL,
        timestamp REAL NOT NULL,
        min REAL,
        max REAL,
        count INTEGER NOT NULL,
        PRIMARY KEY (run_id, name)) WITHOUT ROWID""",
    "CREATE INDEX latest_metrics_by_name ON latest_metrics (name, value)",
    "CREATE INDEX runs_by_status ON runs (status)",
    "CREATE INDEX tags_by_value ON tags (key, value)",
)

V3 = (
    # One row per job: the run it trains (created with the job, status "queued"), where (a host name, "local"
    # or "any"), how much of the host (GPUs, processes; 0 = not asked), and what starting it needs (spec: JSON).
    # state is checked in Python, as the run status is. pid/process_start: the dispatcher that started it.
    """CREATE TABLE queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        created REAL NOT NULL,
        priority INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL,
        host TEXT NOT NULL,
        gpus INTEGER NOT NULL DEFAULT 0,
        procs INTEGER NOT NULL DEFAULT 0,
        spec TEXT NOT NULL DEFAULT '{}',
        placed_on TEXT,
        started REAL,
        ended REAL,
        stop_requested INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        pid INTEGER,
        hostname TEXT,
        process_start TEXT)""",
    "CREATE INDEX queue_by_state ON queue (state, priority, created)",
    "CREATE INDEX queue_by_run ON queue (run_id)",
)


V4 = (
    # A rowid table: rows carry compressed blobs of a few KB (histograms of every layer). seq numbers records
    # of one kind at one step (a run resumed after a crash records the steps since its checkpoint again).
    """CREATE TABLE diagnostics (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        step INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (run_id, kind, step, seq))""",
)


# Each trigger stamps the run with the next revision. Writers are serialised by SQLite's write lock, so the
# counter only grows, and a reader's snapshot holds either all or none of a transaction's stamps: "revision >
# the largest seen" misses no change (a wall-clock time could: a transaction stamped before it commits).
NEXT_REVISION = "(SELECT COALESCE(MAX(revision), 0) + 1 FROM runs)"
RUN_FIELDS = ("experiment_id, name, status, created, started, ended, cpu_seconds, gpu_seconds, graph_sha256, "
              "checksum, environment, pid, hostname")
V5 = (
    "ALTER TABLE runs ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
    "UPDATE runs SET revision = rowid",
    "CREATE INDEX runs_by_revision ON runs (revision)",
    # (created, id): listing the ids of all runs newest first reads this index alone, not the runs' rows.
    "CREATE INDEX runs_by_created ON runs (created, id)",
    f"""CREATE TRIGGER runs_revision_insert AFTER INSERT ON runs BEGIN
        UPDATE runs SET revision = {NEXT_REVISION} WHERE id = NEW.id; END""",
    # Listing the columns leaves out ``revision``: the trigger's own update does not fire it again.
    f"""CREATE TRIGGER runs_revision_update AFTER UPDATE OF {RUN_FIELDS} ON runs BEGIN
        UPDATE runs SET revision = {NEXT_REVISION} WHERE id = NEW.id; END""",
    *(f"""CREATE TRIGGER {table}_revision_{event.lower()} AFTER {event} ON {table} BEGIN
        UPDATE runs SET revision = {NEXT_REVISION} WHERE id = {row}.run_id; END"""
      for table in ("params", "tags", "latest_metrics")
      for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))),
)


V6 = (
    # A note belongs to exactly one experiment or one run, and goes with it when that is deleted.
    """CREATE TABLE notes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        experiment_id TEXT REFERENCES experiments(id) ON DELETE CASCADE,
        run_id TEXT REFERENCES runs(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('hypothesis', 'observation', 'note')),
        text TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        CHECK ((experiment_id IS NULL) != (run_id IS NULL)))""",
    "CREATE INDEX notes_by_experiment ON notes (experiment_id, created)",
    "CREATE INDEX notes_by_run ON notes (run_id, created)",
)


V7 = (
    """CREATE TABLE registered_models (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL)""",
    # run_id is not a foreign key: deleting a run must not silently take a production model with it, and
    # the version keeps its own copies of the files it serves.
    """CREATE TABLE model_versions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model_id INTEGER NOT NULL REFERENCES registered_models(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        run_id TEXT NOT NULL,
        stage TEXT NOT NULL CHECK (stage IN ('none', 'staging', 'production', 'archived')),
        description TEXT NOT NULL DEFAULT '',
        input_shape TEXT NOT NULL,
        metrics TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL,
        created_by TEXT NOT NULL,
        UNIQUE (model_id, version))""",
    "CREATE UNIQUE INDEX one_production_version ON model_versions (model_id) WHERE stage = 'production'",
    """CREATE TABLE model_version_files (
        version_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (version_id, name)) WITHOUT ROWID""",
    """CREATE TABLE model_approvals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        version_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
        who TEXT NOT NULL,
        created REAL NOT NULL,
        comment TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE model_transitions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        version_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
        from_stage TEXT,
        to_stage TEXT NOT NULL,
        who TEXT NOT NULL,
        created REAL NOT NULL,
        comment TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX model_transitions_by_version ON model_transitions (version_id, created)",
    # A gate result is the policy as evaluated and every check's outcome (JSON), so that a later promotion
    # can rely on a gate run in CI.
    """CREATE TABLE model_gate_results (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        version_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
        passed INTEGER NOT NULL,
        policy TEXT NOT NULL,
        checks TEXT NOT NULL,
        who TEXT NOT NULL,
        created REAL NOT NULL)""",
)


V8 = (
    # One row per served request. ``predicted``: the predicted label of each instance (JSON list), kept for
    # every request (a few bytes) so feedback labels can be scored whether or not the request was sampled.
    """CREATE TABLE monitor_requests (
        prediction_id TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        time REAL NOT NULL,
        latency_ms REAL NOT NULL,
        ok INTEGER NOT NULL,
        status INTEGER NOT NULL,
        request_key TEXT,
        predicted TEXT)""",
    "CREATE INDEX monitor_requests_by_model_time ON monitor_requests (model, time)",
    "CREATE INDEX monitor_requests_by_version_time ON monitor_requests (model, version, time)",
    # A rowid table: rows carry compressed blobs (an image request is a few KB).
    """CREATE TABLE monitor_samples (
        prediction_id TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        time REAL NOT NULL,
        inputs BLOB,
        predictions BLOB)""",
    "CREATE INDEX monitor_samples_by_model_time ON monitor_samples (model, version, time)",
    # No foreign key to the request: a label may arrive while its request still waits in a replica's buffer.
    """CREATE TABLE monitor_feedback (
        prediction_id TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        time REAL NOT NULL)""",
    "CREATE INDEX monitor_feedback_by_time ON monitor_feedback (time)",
    """CREATE TABLE monitor_drift (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        time REAL NOT NULL,
        window_start REAL NOT NULL,
        window_end REAL NOT NULL,
        samples INTEGER NOT NULL,
        max_psi REAL,
        data BLOB NOT NULL)""",
    "CREATE INDEX monitor_drift_by_model_time ON monitor_drift (model, time)",
    # resolved: when the value came back within its threshold (NULL while the breach lasts); one row per breach.
    """CREATE TABLE monitor_alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        threshold REAL NOT NULL,
        value REAL NOT NULL,
        time REAL NOT NULL,
        acknowledged INTEGER NOT NULL DEFAULT 0,
        resolved REAL)""",
    "CREATE INDEX monitor_alerts_by_model_time ON monitor_alerts (model, time)",
)


V9 = (
    # One row per run of a pipeline file. content_sha256 is the file's text as it was run, so a run of the same
    # unchanged file can pick up where a failed one stopped; resumed_from names the run whose stages it reused.
    """CREATE TABLE pipeline_runs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        file TEXT NOT NULL,
        content_sha256 TEXT NOT NULL,
        spec TEXT NOT NULL,
        work_dir TEXT NOT NULL,
        status TEXT NOT NULL,
        created REAL NOT NULL,
        started REAL,
        ended REAL,
        message TEXT,
        resumed_from TEXT REFERENCES pipeline_runs(id) ON DELETE SET NULL,
        pid INTEGER,
        hostname TEXT,
        process_start TEXT)""",
    "CREATE INDEX pipeline_runs_by_file ON pipeline_runs (file, created)",
    # One row per stage, in the file's order. outputs/artifacts/checks are JSON; fingerprint hashes the stage's
    # definition together with every earlier stage's, so a resume reuses a stage only if nothing it depends on
    # changed in the file; reused_from names the pipeline run that really ran it.
    """CREATE TABLE pipeline_stages (
        pipeline_id TEXT NOT NULL REFERENCES pipeline_runs(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        status TEXT NOT NULL,
        started REAL,
        ended REAL,
        outputs TEXT NOT NULL DEFAULT '{}',
        artifacts TEXT NOT NULL DEFAULT '[]',
        checks TEXT NOT NULL DEFAULT '[]',
        message TEXT,
        reused_from TEXT,
        PRIMARY KEY (pipeline_id, position)) WITHOUT ROWID""",
)


V10 = (
    # seq counts from 1 with no gaps; hash = sha256 of the canonical encoding of (seq, time, who, kind, subject,
    # details, prev_hash), so an edited, deleted, inserted or reordered row breaks the chain at that point.
    # signature: ed25519 over the hash by the key key_id names (NULL when the entry was not signed).
    """CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        time REAL NOT NULL,
        who TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        key_id TEXT,
        signature TEXT)""",
    "CREATE INDEX audit_log_by_kind ON audit_log (kind, seq)",
    "CREATE INDEX audit_log_by_time ON audit_log (time)",
    # One row per installation key that signed entries: raw ed25519 public key, hex.
    """CREATE TABLE audit_keys (
        key_id TEXT PRIMARY KEY,
        public_key TEXT NOT NULL,
        created REAL NOT NULL,
        who TEXT NOT NULL) WITHOUT ROWID""",
)


V11 = (
    # Keyed by the model's name and version number rather than the version row, so that a card outlives its
    # version row being replaced; written_for (that row's registration time) tells a card for an older row.
    """CREATE TABLE model_cards (
        model TEXT NOT NULL,
        version INTEGER NOT NULL,
        markdown TEXT NOT NULL,
        fields TEXT NOT NULL DEFAULT '{}',
        facts TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL,
        updated REAL NOT NULL,
        generated REAL NOT NULL,
        who TEXT NOT NULL,
        written_for REAL NOT NULL,
        PRIMARY KEY (model, version)) WITHOUT ROWID""",
)
V12 = (
    # Who created each run and who owns each project (NULL: written before this version, by an unknown user).
    "ALTER TABLE runs ADD COLUMN created_by TEXT",
    "ALTER TABLE projects ADD COLUMN owner TEXT",
    "CREATE INDEX runs_created_by ON runs (created_by)",
)
V13 = (
    # Accounts of a shared store (kind 'named': added with `neuralforge users add`; 'os': an operating-system
    # user registered when first granted a role). disabled = 1 keeps the name (runs refer to it) but no access.
    """CREATE TABLE users (
        name TEXT PRIMARY KEY,
        display_name TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL,
        created REAL NOT NULL,
        created_by TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0)""",
    # A project with no rows here is open to everyone who can open the store (a personal store); once it has
    # one, only its members (and its owner, an admin) may act on it. role: viewer, contributor, approver, admin.
    """CREATE TABLE project_members (
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        user_name TEXT NOT NULL,
        role TEXT NOT NULL,
        granted REAL NOT NULL,
        granted_by TEXT NOT NULL,
        PRIMARY KEY (project_id, user_name))""",
    "CREATE INDEX project_members_by_user ON project_members (user_name)",
)

V14 = (
    # thread_id: the id of the thread's first comment (its own id for a thread's start), so a thread reads in one
    # query. target_id: a run id, a graph's id (kept in the graph file's meta), NAME@VERSION or an experiment id.
    """CREATE TABLE comments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        target_kind TEXT NOT NULL,
        target_id TEXT NOT NULL,
        anchor TEXT,
        parent_id INTEGER REFERENCES comments(id) ON DELETE CASCADE,
        thread_id INTEGER,
        author TEXT NOT NULL,
        body TEXT NOT NULL,
        created REAL NOT NULL,
        resolved INTEGER NOT NULL DEFAULT 0,
        resolved_by TEXT,
        resolved_at REAL)""",
    "CREATE INDEX comments_by_target ON comments (target_kind, target_id, created)",
    "CREATE INDEX comments_by_thread ON comments (thread_id)",
    """CREATE TABLE comment_mentions (
        comment_id INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
        user_name TEXT NOT NULL,
        PRIMARY KEY (comment_id, user_name))""",
    "CREATE INDEX comment_mentions_by_user ON comment_mentions (user_name)",
    # status: pending, approved or rejected; decided_* stay NULL while pending.
    """CREATE TABLE review_requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL,
        version INTEGER NOT NULL,
        requested_by TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        decided_by TEXT,
        decided_at REAL,
        decision_note TEXT)""",
    "CREATE INDEX review_requests_by_status ON review_requests (status, created)",
)


V15 = (
    """CREATE TABLE project_budgets (
        project TEXT PRIMARY KEY,
        monthly REAL NOT NULL,
        currency TEXT NOT NULL DEFAULT 'USD',
        thresholds TEXT NOT NULL DEFAULT '50,80,100',
        hard_stop INTEGER NOT NULL DEFAULT 0,
        updated REAL NOT NULL,
        updated_by TEXT NOT NULL)""",
    # One alert per (project, month, threshold): the primary key makes a second crossing a no-op.
    """CREATE TABLE budget_alerts (
        project TEXT NOT NULL,
        month TEXT NOT NULL,
        threshold INTEGER NOT NULL,
        spend REAL NOT NULL,
        budget REAL NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (project, month, threshold))""",
)
