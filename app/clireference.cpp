#include "clireference.h"

#include "cli.h"

namespace flowdeck::cli {

QList<ReferenceEntry> environmentVariables()
{
    return {
        {QStringLiteral("FLOWDECK_DB"),
         QStringLiteral("The database when --db is not given: a SQLite file path or a postgresql:// URL. "
                        "Unlike --db, it does not show in the process list. Empty counts as unset.")},
        {QStringLiteral("FLOWDECK_WRITE_RETRY_S"),
         QStringLiteral("How long run and worker retry writes that fail for a passing reason (the database "
                        "locked, the connection lost) before they give up (default 60).")},
        {QStringLiteral("FLOWDECK_MAX_RESULT_BYTES"),
         QStringLiteral("The largest result a task run of run or worker may end with when its task sets no "
                        "max_result_bytes (default 1048576, 1 MB).")},
        {QStringLiteral("FLOWDECK_WORKER_LEASE_S"),
         QStringLiteral("A worker's lease when --lease-seconds is not given (default 30).")},
        {QStringLiteral("FLOWDECK_SLOT_LEASE_S"),
         QStringLiteral("How long a held concurrency slot lasts without renewal, so that a killed process's "
                        "slots come back by themselves (default 30).")},
        {QStringLiteral("PGPASSFILE"),
         QStringLiteral("The PostgreSQL password file for a URL without a password (default ~/.pgpass).")},
        {QStringLiteral("QT_QPA_PLATFORM"),
         QStringLiteral("offscreen runs the dashboard without a display (for --screenshot).")},
    };
}

QList<ReferenceEntry> exitCodes()
{
    return {
        {QString::number(ExitCompleted), QStringLiteral("Completed.")},
        {QString::number(ExitFailed),
         QStringLiteral("Failed: a flow run failed, or the database could not be written.")},
        {QString::number(ExitUsage),
         QStringLiteral("Bad usage, an invalid flow, or a database that cannot be opened.")},
        {QString::number(ExitSkipped),
         QStringLiteral("Skipped: the flow's \"max_active_runs\" was reached and it says \"on_limit\": "
                        "\"skip\" (run, runs rerun, runs retry); the flow run is stored CANCELLED with the "
                        "reason.")},
        {QString::number(ExitCancelled),
         QStringLiteral("Cancelled by SIGINT or SIGTERM (after a cooperative cancel; a run still waiting for "
                        "its max_active_runs ends CANCELLED without starting). A second signal ends the "
                        "process at once with 128 + the signal.")},
    };
}

QList<ReferenceEntry> files()
{
    return {
        {QStringLiteral("~/.local/share/Flowdeck/flowdeck/flowdeck.db"),
         QStringLiteral("The default SQLite database (mode 0600, WAL).")},
        {QStringLiteral("~/.local/share/Flowdeck/flowdeck/flows/"),
         QStringLiteral("The user's own flows, listed on the dashboard's Flows page.")},
        {QStringLiteral("~/.config/Flowdeck/Flowdeck.conf"), QStringLiteral("The dashboard's settings.")},
        {QStringLiteral("/usr/share/flowdeck/flows/"), QStringLiteral("The example flows.")},
        {QStringLiteral("/etc/flowdeck/worker.env"),
         QStringLiteral("The environment (FLOWDECK_DB) of the flowdeck-worker@NAME.service systemd units.")},
    };
}

} // namespace flowdeck::cli
