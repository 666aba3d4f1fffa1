#include "settingsdialog.h"

#include "appcontext.h"
#include "blockingpool.h"
#include "engine.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace flowdeck {

SettingsDialog::SettingsDialog(AppContext* context, QWidget* parent)
    : QDialog(parent)
    , m_context(context)
    , m_threads(new QSpinBox(this))
    , m_threshold(new QSpinBox(this))
{
    setObjectName(QStringLiteral("settingsDialog"));
    setWindowTitle(tr("Settings"));
    auto* layout = new QVBoxLayout(this);

    auto* engine = new QGroupBox(tr("Engine"), this);
    auto* form = new QFormLayout(engine);
    m_threads->setObjectName(QStringLiteral("blockingThreads"));
    m_threads->setRange(1, 1024);
    m_threads->setValue(context->blockingPoolStats().maxThreads);
    m_threads->setToolTip(tr("Worker threads for \"blocking\" task bodies. Size it for blocking I/O, not for "
                             "the number of cores: each waiting call holds a thread."));
    form->addRow(tr("&Blocking pool threads:"), m_threads);

    m_threshold->setObjectName(QStringLiteral("loopLagThreshold"));
    m_threshold->setRange(10, 60000);
    m_threshold->setSuffix(tr(" ms"));
    m_threshold->setValue(context->loopLagThresholdMs());
    m_threshold->setToolTip(
        tr("The event loop counts as stalled when it has not turned for this long; the task "
           "run on the loop is named in a warning."));
    form->addRow(tr("Loop-lag &threshold:"), m_threshold);

    auto* note = new QLabel(tr("Both apply at once to the running engine."), engine);
    note->setForegroundRole(QPalette::PlaceholderText);
    form->addRow(note);
    layout->addWidget(engine);

    // Issue 4 adds the "Concurrency limits" group here (add, edit, delete; validated; stored in
    // the run store) and issue 3 the "Database" group (location, pool size, overflow, timeout).

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Apply
                                             | QDialogButtonBox::Cancel | QDialogButtonBox::RestoreDefaults,
                                         this);
    connect(buttons, &QDialogButtonBox::accepted, this, &SettingsDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &SettingsDialog::reject);
    connect(buttons->button(QDialogButtonBox::Apply), &QPushButton::clicked, this, &SettingsDialog::apply);
    connect(buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this,
            &SettingsDialog::restoreDefaults);
    layout->addWidget(buttons);
}

SettingsDialog::~SettingsDialog() = default;

void SettingsDialog::apply()
{
    m_context->setBlockingThreads(m_threads->value());
    m_context->setLoopLagThresholdMs(m_threshold->value());
}

void SettingsDialog::accept()
{
    apply();
    QDialog::accept();
}

void SettingsDialog::restoreDefaults()
{
    m_threads->setValue(BlockingPool::DefaultThreads);
    m_threshold->setValue(LoopMonitor::DefaultThresholdMs);
}

} // namespace flowdeck
