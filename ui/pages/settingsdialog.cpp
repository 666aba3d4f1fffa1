#include "pages/settingsdialog.h"

#include "context/appcontext.h"
#include "context/appsettings.h"
#include "mainwindow.h"
#include "models/globallimitsmodel.h"
#include "run/blockingpool.h"
#include "run/engine.h"
#include "store/databaseurl.h"
#include "style/statestyle.h"
#include "widgets/limitseditor.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScreen>
#include <QScrollArea>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace flowdeck {

namespace {

QLabel* note(const QString& text, QWidget* parent)
{
    auto* label = new QLabel(text, parent);
    label->setWordWrap(true);
    label->setForegroundRole(QPalette::PlaceholderText);
    return label;
}

} // namespace

SettingsDialog::SettingsDialog(AppContext* context, QWidget* parent)
    : QDialog(parent)
    , m_context(context)
    , m_threads(new QSpinBox(this))
    , m_threshold(new QSpinBox(this))
    , m_maxResult(new QSpinBox(this))
    , m_limits(new LimitsEditor(context, true, this))
    , m_globalModel(new GlobalLimitsModel(context, this))
    , m_globalView(new QTableView(this))
    , m_globalName(new QLineEdit(this))
    , m_globalLimit(new QLineEdit(this))
    , m_globalDecay(new QLineEdit(this))
    , m_globalAdd(new QPushButton(tr("Add"), this))
    , m_globalDelete(new QPushButton(tr("Delete"), this))
    , m_globalMessage(new QLabel(this))
    , m_location(new QLineEdit(this))
    , m_poolSize(new QSpinBox(this))
    , m_poolOverflow(new QSpinBox(this))
    , m_poolTimeout(new QDoubleSpinBox(this))
    , m_databaseNote(new QLabel(this))
    , m_keepInTray(new QCheckBox(tr("&Keep running in the tray when the window closes"), this))
    , m_notifyFailures(new QCheckBox(tr("Flow runs that &fail or crash"), this))
    , m_notifyCompletions(new QCheckBox(tr("Flow runs that co&mplete"), this))
    , m_notifyApprovals(new QCheckBox(tr("&Approvals that wait"), this))
{
    setObjectName(QStringLiteral("settingsDialog"));
    setWindowTitle(tr("Settings"));
    auto* layout = new QVBoxLayout(this);

    QGroupBox* engine = makeEngineGroup();
    QGroupBox* limits = makeLimitsGroup();
    QGroupBox* database = makeDatabaseGroup();
    QGroupBox* tray = makeTrayGroup();

    // One section per tab, each in a scroll area: on a small or scaled screen (900x600 at scale 2 is
    // 450x300) a section scrolls and the buttons below stay in view.
    m_sections = new QTabWidget(this);
    m_sections->setObjectName(QStringLiteral("settingsSections"));
    m_sections->setUsesScrollButtons(true);
    m_sections->setDocumentMode(true);
    m_sections->addTab(scrolled(engine), tr("Engine"));
    m_sections->addTab(scrolled(limits), tr("Limits"));
    m_sections->addTab(scrolled(database), tr("Database"));
    m_sections->addTab(scrolled(tray), tr("Tray"));
    layout->addWidget(m_sections, 1);

    layout->addWidget(makeButtons());
    fitTo(screen()->availableGeometry().size());
}

QWidget* SettingsDialog::scrolled(QWidget* content)
{
    auto* area = new QScrollArea(this);
    area->setFrameShape(QFrame::NoFrame);
    area->setWidgetResizable(true);
    area->setWidget(content);
    return area;
}

void SettingsDialog::showSection(Section section)
{
    m_sections->setCurrentIndex(int(section));
}

void SettingsDialog::fitTo(const QSize& available)
{
    // The window frame takes some of the screen's room: a title bar and borders.
    const QSize room = available - QSize(16, 40);
    resize(QSize(640, 420).boundedTo(room).expandedTo(minimumSizeHint()));
}

QGroupBox* SettingsDialog::makeEngineGroup()
{
    auto* engine = new QGroupBox(tr("Engine"), this);
    auto* form = new QFormLayout(engine);
    m_threads->setObjectName(QStringLiteral("blockingThreads"));
    m_threads->setRange(1, 1024);
    m_threads->setValue(m_context->blockingPoolStats().maxThreads);
    m_threads->setToolTip(tr("Worker threads for \"blocking\" task bodies. Size it for blocking I/O, not for "
                             "the number of cores: each waiting call holds a thread."));
    form->addRow(tr("&Blocking pool threads:"), m_threads);

    m_threshold->setObjectName(QStringLiteral("loopLagThreshold"));
    m_threshold->setRange(10, 60000);
    m_threshold->setSuffix(tr(" ms"));
    m_threshold->setValue(m_context->loopLagThresholdMs());
    m_threshold->setToolTip(
        tr("The event loop counts as stalled when it has not turned for this long; the task "
           "run on the loop is named in a warning."));
    form->addRow(tr("Loop-lag &threshold:"), m_threshold);

    m_maxResult->setObjectName(QStringLiteral("maxResultSize"));
    m_maxResult->setRange(1, 1024 * 1024);
    m_maxResult->setSuffix(tr(" KB"));
    m_maxResult->setValue(int(m_context->engine().defaultMaxResultBytes() / 1024));
    m_maxResult->setToolTip(tr("A task run whose result is larger fails, saying its size and this limit. A "
                               "task's own \"max_result_bytes\" takes precedence."));
    form->addRow(tr("Largest task &result:"), m_maxResult);
    form->addRow(note(tr("They apply at once to the running engine."), engine));
    return engine;
}

QGroupBox* SettingsDialog::makeLimitsGroup()
{
    auto* limits = new QGroupBox(tr("Concurrency limits"), this);
    limits->setObjectName(QStringLiteral("limitsGroup"));
    auto* limitsLayout = new QVBoxLayout(limits);
    // Tags and global limits in tabs: the dialog stays as tall as one of them.
    auto* tabs = new QTabWidget(limits);
    tabs->setObjectName(QStringLiteral("limitsTabs"));
    auto* tags = new QWidget(tabs);
    auto* tagsLayout = new QVBoxLayout(tags);
    m_limits->view()->setMinimumHeight(110);
    tagsLayout->addWidget(m_limits);
    tagsLayout->addWidget(
        note(tr("A task run with a limited tag runs only while it holds one of the tag's slots. A limit is a "
                "non-negative integer (0 pauses the tag); a tag has no whitespace or commas. Changes are "
                "stored at once and apply to running flows."),
             tags));
    tabs->addTab(tags, tr("&Tags"));
    tabs->addTab(makeGlobalLimitsTab(), tr("&Global limits"));
    limitsLayout->addWidget(tabs);
    return limits;
}

QWidget* SettingsDialog::makeGlobalLimitsTab()
{
    auto* tab = new QWidget(this);
    auto* layout = new QVBoxLayout(tab);
    m_globalView->setObjectName(QStringLiteral("settingsGlobalLimitsView"));
    m_globalView->setModel(m_globalModel);
    m_globalView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_globalView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_globalView->verticalHeader()->hide();
    m_globalView->horizontalHeader()->setStretchLastSection(true);
    m_globalView->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
    m_globalView->setMinimumHeight(110);
    layout->addWidget(m_globalView, 1);

    m_globalName->setObjectName(QStringLiteral("settingsGlobalName"));
    m_globalName->setPlaceholderText(tr("name"));
    m_globalLimit->setObjectName(QStringLiteral("settingsGlobalLimit"));
    m_globalLimit->setPlaceholderText(tr("limit"));
    m_globalDecay->setObjectName(QStringLiteral("settingsGlobalDecay"));
    m_globalDecay->setPlaceholderText(tr("decay/s"));
    m_globalDecay->setToolTip(tr("Slots freed per second: a rate limit (empty: a concurrency limit)"));
    m_globalAdd->setObjectName(QStringLiteral("settingsGlobalAdd"));
    m_globalDelete->setObjectName(QStringLiteral("settingsGlobalDelete"));
    auto* form = new QHBoxLayout;
    form->addWidget(m_globalName, 2);
    form->addWidget(m_globalLimit, 1);
    form->addWidget(m_globalDecay, 1);
    form->addWidget(m_globalAdd);
    form->addWidget(m_globalDelete);
    layout->addLayout(form);
    m_globalMessage->setObjectName(QStringLiteral("settingsGlobalMessage"));
    m_globalMessage->setWordWrap(true);
    layout->addWidget(m_globalMessage);
    layout->addWidget(
        note(tr("A task or flow run occupies a global limit's slots with \"concurrency\"; a rate "
                "limit's slots decay. Double-click a limit or decay to change it. Changes are "
                "stored at once."),
             tab));

    connect(m_globalModel, &GlobalLimitsModel::invalidInput, m_globalMessage, &QLabel::setText);
    for (QPushButton* button : {m_globalAdd, m_globalDelete})
        button->setAutoDefault(false);
    connect(m_globalAdd, &QPushButton::clicked, this, &SettingsDialog::addGlobalLimit);
    // Return in a field adds the limit instead of closing the dialog.
    for (QLineEdit* edit : {m_globalName, m_globalLimit, m_globalDecay})
        edit->installEventFilter(this);
    connect(m_globalDelete, &QPushButton::clicked, this, [this] {
        if (const GlobalLimitRow* row = m_globalModel->rowAt(m_globalView->currentIndex().row()))
            m_context->globalLimits().remove(row->name);
    });
    const auto updateDelete
        = [this] { m_globalDelete->setEnabled(m_globalModel->rowAt(m_globalView->currentIndex().row())); };
    connect(m_globalView->selectionModel(), &QItemSelectionModel::currentRowChanged, this, updateDelete);
    connect(m_globalModel, &QAbstractItemModel::rowsRemoved, this, updateDelete);
    updateDelete();
    return tab;
}

void SettingsDialog::addGlobalLimit()
{
    GlobalLimitChange change;
    const QString name = m_globalName->text().trimmed();
    const QString error = GlobalLimits::validate(name, m_globalLimit->text(), m_globalDecay->text(), &change);
    if (!error.isEmpty()) {
        m_globalMessage->setText(error);
        return;
    }
    if (m_globalModel->rowOf(name) >= 0) {
        m_globalMessage->setText(tr("Global limit \"%1\" exists already: change it in the table.").arg(name));
        return;
    }
    m_globalMessage->clear();
    m_context->globalLimits().write(name, change, true);
    m_globalName->clear();
    m_globalLimit->clear();
    m_globalDecay->clear();
}

bool SettingsDialog::eventFilter(QObject* watched, QEvent* event)
{
    if ((watched == m_globalName || watched == m_globalLimit || watched == m_globalDecay)
        && event->type() == QEvent::KeyPress) {
        const int key = static_cast<QKeyEvent*>(event)->key();
        if (key == Qt::Key_Return || key == Qt::Key_Enter) {
            addGlobalLimit();
            return true;
        }
    }
    return QDialog::eventFilter(watched, event);
}

QGroupBox* SettingsDialog::makeDatabaseGroup()
{
    auto* database = new QGroupBox(tr("Database"), this);
    database->setObjectName(QStringLiteral("databaseGroup"));
    auto* dbForm = new QFormLayout(database);
    QString source;
    const QString current = DatabaseConnection::defaultLocation(&source);
    m_location->setObjectName(QStringLiteral("databaseLocation"));
    m_location->setText(appsettings::databaseLocation());
    m_location->setPlaceholderText(DatabaseUrl::defaultSqlite().path);
    m_location->setToolTip(tr("A SQLite file, or postgresql://user[:password]@host[:port]/dbname. Empty: "
                              "flowdeck.db in the app data folder."));
    auto* browse = new QPushButton(tr("Browse…"), database);
    connect(browse, &QPushButton::clicked, this, [this] {
        auto* dialog = new QFileDialog(this, tr("Database File"), m_location->text(),
                                       tr("SQLite databases (*.db *.sqlite);;All files (*)"));
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->setAcceptMode(QFileDialog::AcceptSave);
        dialog->setOption(QFileDialog::DontConfirmOverwrite);
        connect(dialog, &QFileDialog::fileSelected, m_location, &QLineEdit::setText);
        dialog->open();
    });
    auto* locationRow = new QHBoxLayout;
    locationRow->addWidget(m_location, 1);
    locationRow->addWidget(browse);
    auto* locationLabel = new QLabel(tr("&Location:"), database);
    locationLabel->setBuddy(m_location);
    dbForm->addRow(locationLabel, locationRow);
    // One row per pool figure: side by side they would make the dialog too wide for a small screen.
    setUpPoolEditors();
    dbForm->addRow(tr("Pool si&ze:"), m_poolSize);
    dbForm->addRow(tr("Pool o&verflow:"), m_poolOverflow);
    dbForm->addRow(tr("Pool ti&meout:"), m_poolTimeout);
    const QString status = databaseStatus(source, current);
    dbForm->addRow(note(status + QLatin1Char(' ')
                            + tr("The pool applies at once; a new location applies at once when no flow "
                                 "run is active, else at the next start."),
                        database));
    m_databaseNote->setObjectName(QStringLiteral("databaseNote"));
    m_databaseNote->setWordWrap(true);
    m_databaseNote->hide();
    dbForm->addRow(m_databaseNote);
    return database;
}

QGroupBox* SettingsDialog::makeTrayGroup()
{
    auto* group = new QGroupBox(tr("Tray and notifications"), this);
    group->setObjectName(QStringLiteral("trayGroup"));
    auto* layout = new QVBoxLayout(group);
    m_keepInTray->setObjectName(QStringLiteral("keepInTray"));
    m_keepInTray->setToolTip(tr("Schedules keep firing while the window is closed; quit from the tray "
                                "icon's menu or with File → Quit. On by default when schedules exist."));
    m_notifyFailures->setObjectName(QStringLiteral("notifyFailures"));
    m_notifyCompletions->setObjectName(QStringLiteral("notifyCompletions"));
    m_notifyApprovals->setObjectName(QStringLiteral("notifyApprovals"));
    const NotifyOptions notify = m_context->notifier().options();
    m_notifyFailures->setChecked(notify.failures);
    m_notifyCompletions->setChecked(notify.completions);
    m_notifyApprovals->setChecked(notify.approvals);
    m_keepInTray->setChecked(appsettings::keepInTray(m_context->scheduleList().count() > 0));
    layout->addWidget(m_keepInTray);
    auto* notifyLabel = new QLabel(tr("Notify about:"), group);
    layout->addWidget(notifyLabel);
    auto* kinds = new QHBoxLayout;
    kinds->addWidget(m_notifyFailures);
    kinds->addWidget(m_notifyCompletions);
    kinds->addWidget(m_notifyApprovals);
    kinds->addStretch(1);
    layout->addLayout(kinds);
    // Where the desktop has no tray the app behaves as it always did; the choices wait for one.
    const auto* window = qobject_cast<const MainWindow*>(parentWidget());
    if (!window || !window->trayIcon()) {
        for (QWidget* w :
             {static_cast<QWidget*>(m_keepInTray), static_cast<QWidget*>(notifyLabel),
              static_cast<QWidget*>(m_notifyFailures), static_cast<QWidget*>(m_notifyCompletions),
              static_cast<QWidget*>(m_notifyApprovals)})
            w->setEnabled(false);
        layout->addWidget(note(tr("This desktop has no system tray: closing the window quits."), group));
    }
    return group;
}

void SettingsDialog::setUpPoolEditors()
{
    const PoolOptions pool = m_context->database().poolOptions();
    m_poolSize->setObjectName(QStringLiteral("poolSize"));
    m_poolSize->setRange(1, 100);
    m_poolSize->setValue(pool.poolSize);
    m_poolOverflow->setObjectName(QStringLiteral("poolOverflow"));
    m_poolOverflow->setRange(0, 1000);
    m_poolOverflow->setValue(pool.maxOverflow);
    m_poolTimeout->setObjectName(QStringLiteral("poolTimeout"));
    m_poolTimeout->setRange(0.1, 3600);
    m_poolTimeout->setDecimals(1);
    m_poolTimeout->setSuffix(tr(" s"));
    m_poolTimeout->setValue(pool.timeoutS);
    m_poolSize->setToolTip(tr("Connections kept open to the database."));
    m_poolOverflow->setToolTip(tr("Extra connections opened while all kept ones are busy."));
    m_poolTimeout->setToolTip(tr("How long a query waits for a free connection before it fails."));
}

QString SettingsDialog::databaseStatus(const QString& source, const QString& current) const
{
    QString status;
    switch (m_context->database().state()) {
    case DatabaseState::Open:
        status = tr("In use: %1 (%2).").arg(m_context->database().description(), source);
        break;
    case DatabaseState::Failed:
        status = tr("Not available: %1").arg(m_context->database().errorText());
        break;
    case DatabaseState::Opening:
        status = tr("Opening %1 (%2).").arg(m_context->database().description(), source);
        break;
    default:
        status = tr("Not open; %1 would be used (%2).").arg(current, source);
        break;
    }
    return status;
}

QDialogButtonBox* SettingsDialog::makeButtons()
{
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Apply
                                             | QDialogButtonBox::Cancel | QDialogButtonBox::RestoreDefaults,
                                         this);
    connect(buttons, &QDialogButtonBox::accepted, this, &SettingsDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &SettingsDialog::reject);
    connect(buttons->button(QDialogButtonBox::Apply), &QPushButton::clicked, this, &SettingsDialog::apply);
    connect(buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this,
            &SettingsDialog::restoreDefaults);
    // Return in the limit fields sets the limit, not closes the dialog.
    for (QPushButton* button : buttons->findChildren<QPushButton*>())
        button->setAutoDefault(false);
    return buttons;
}

SettingsDialog::~SettingsDialog() = default;

bool SettingsDialog::apply()
{
    const QString location = m_location->text().trimmed();
    if (!location.isEmpty()) {
        QString error;
        if (!DatabaseUrl::parse(location, &error)) {
            // The error quotes the location with its password hidden; the text as typed is not repeated.
            showDatabaseNote(tr("Database location refused: %1").arg(error), true);
            return false;
        }
    }
    m_context->setBlockingThreads(m_threads->value());
    m_context->setLoopLagThresholdMs(m_threshold->value());
    const qint64 maxResult = qint64(m_maxResult->value()) * 1024;
    m_context->engine().setDefaultMaxResultBytes(maxResult);
    appsettings::setMaxResultBytes(maxResult);
    PoolOptions pool = m_context->database().poolOptions();
    pool.poolSize = m_poolSize->value();
    pool.maxOverflow = m_poolOverflow->value();
    pool.timeoutS = m_poolTimeout->value();
    m_context->database().setPoolOptions(pool);

    if (m_keepInTray->isEnabled()) {
        NotifyOptions notify;
        notify.failures = m_notifyFailures->isChecked();
        notify.completions = m_notifyCompletions->isChecked();
        notify.approvals = m_notifyApprovals->isChecked();
        appsettings::setNotifyOptions(notify);
        m_context->notifier().setOptions(notify);
        // Left unset while it shows the default, so that it follows whether schedules exist.
        const bool fallback = appsettings::keepInTray(m_context->scheduleList().count() > 0);
        if (appsettings::keepInTrayIsSet() || m_keepInTray->isChecked() != fallback)
            appsettings::setKeepInTray(m_keepInTray->isChecked());
    }

    if (location != appsettings::databaseLocation()) {
        appsettings::setDatabaseLocation(location);
        const QString shown = location.isEmpty() ? DatabaseUrl::defaultSqlite().path : location;
        if (!qEnvironmentVariableIsEmpty("FLOWDECK_DB"))
            showDatabaseNote(tr("Saved. $FLOWDECK_DB is set and chooses the database until it is unset; "
                                "restart without it to use %1.")
                                 .arg(shown),
                             false);
        else if (m_context->database().open(location))
            showDatabaseNote(tr("Opening %1…").arg(shown), false);
        else
            showDatabaseNote(tr("Saved. Restart Flowdeck to use %1: flow runs are active.").arg(shown),
                             false);
    }
    return true;
}

void SettingsDialog::accept()
{
    if (apply())
        QDialog::accept();
}

void SettingsDialog::restoreDefaults()
{
    m_threads->setValue(BlockingPool::DefaultThreads);
    m_threshold->setValue(LoopMonitor::DefaultThresholdMs);
    m_maxResult->setValue(int(Engine::DefaultMaxResultBytes / 1024));
    const PoolOptions defaults;
    m_poolSize->setValue(defaults.poolSize);
    m_poolOverflow->setValue(defaults.maxOverflow);
    m_poolTimeout->setValue(defaults.timeoutS);
    m_location->clear();
}

void SettingsDialog::showDatabaseNote(const QString& text, bool error)
{
    m_databaseNote->setText(error ? QStringLiteral("<b style=\"color:%1\">%2</b>")
                                        .arg(stateColor(StateType::Failed).name(), text.toHtmlEscaped())
                                  : text.toHtmlEscaped());
    m_databaseNote->show();
    showSection(DatabaseSection); // the note answers Apply or OK, whichever section was in view
}

} // namespace flowdeck
