#include "pages/schedulespage.h"

#include "context/appcontext.h"
#include "models/flowlistmodel.h"
#include "models/schedulemodel.h"
#include "style/icons.h"
#include "widgets/badgedelegate.h"
#include "widgets/columnfitter.h"
#include "widgets/scheduledialog.h"

#include <QAction>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QKeyEvent>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

namespace flowdeck {

SchedulesPage::SchedulesPage(AppContext* context, FlowListModel* flows, QWidget* parent)
    : QWidget(parent)
    , m_context(context)
    , m_flows(flows)
    , m_model(new ScheduleModel(context->scheduleList(), this))
    , m_view(new QTableView(this))
    , m_empty(new QLabel(this))
{
    setObjectName(QStringLiteral("schedulesPage"));
    auto* layout = new QVBoxLayout(this);
    auto* bar = new QToolBar(this);
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_add
        = bar->addAction(themedIcon(QStringLiteral("list-add"), QStyle::SP_FileDialogNewFolder), tr("&Add…"));
    m_add->setObjectName(QStringLiteral("addScheduleAction"));
    m_add->setShortcut(QKeySequence::New);
    m_add->setToolTip(
        tr("Add a schedule (%1)").arg(QKeySequence(QKeySequence::New).toString(QKeySequence::NativeText)));
    m_edit = bar->addAction(themedIcon(QStringLiteral("document-edit"), QStyle::SP_FileDialogContentsView),
                            tr("&Edit…"));
    m_edit->setObjectName(QStringLiteral("editScheduleAction"));
    m_edit->setToolTip(tr("Edit the selected schedule (Enter)"));
    m_pauseResume = bar->addAction(themedIcon(QStringLiteral("media-playback-pause"), QStyle::SP_MediaPause),
                                   tr("&Pause"));
    m_pauseResume->setObjectName(QStringLiteral("pauseScheduleAction"));
    m_pauseResume->setToolTip(tr("Pause or resume the selected schedule (Space)"));
    m_delete
        = bar->addAction(themedIcon(QStringLiteral("edit-delete"), QStyle::SP_TrashIcon), tr("&Delete…"));
    m_delete->setObjectName(QStringLiteral("deleteScheduleAction"));
    m_delete->setShortcut(QKeySequence::Delete);
    m_delete->setToolTip(tr("Delete the selected schedule (Del); its past runs stay"));
    // Page shortcuts: they act while the focus is on this page.
    for (QAction* action : {m_add, m_delete}) {
        action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        addAction(action);
    }
    connect(m_add, &QAction::triggered, this, [this] { addSchedule(); });
    connect(m_edit, &QAction::triggered, this, &SchedulesPage::editSelected);
    connect(m_pauseResume, &QAction::triggered, this, &SchedulesPage::toggleSelected);
    connect(m_delete, &QAction::triggered, this, &SchedulesPage::deleteSelected);
    layout->addWidget(bar);

    m_empty->setObjectName(QStringLiteral("schedulesEmptyState"));
    m_empty->setWordWrap(true);
    m_empty->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setMargin(24);
    m_empty->setFrameShape(QFrame::StyledPanel);
    layout->addWidget(m_empty);

    m_view->setObjectName(QStringLiteral("schedulesView"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->setItemDelegateForColumn(ScheduleModel::LastRunColumn, new BadgeDelegate(m_view));
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->horizontalHeader()->setMinimumSectionSize(60);
    new ColumnFitter(m_view, QStringLiteral("schedules"),
                     {ScheduleModel::ZoneColumn, ScheduleModel::LastRunColumn, ScheduleModel::FlowColumn});
    m_view->installEventFilter(this);
    connect(m_view, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        if (index.column() != ScheduleModel::ActiveColumn)
            editSelected();
    });
    layout->addWidget(m_view, 1);

    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &SchedulesPage::updateActions);
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        updateActions();
        updateEmptyState();
    });
    connect(m_model, &QAbstractItemModel::dataChanged, this, &SchedulesPage::updateActions);
    connect(&context->database(), &DatabaseConnection::stateChanged, this, &SchedulesPage::updateEmptyState);
    updateActions();
    updateEmptyState();
}

SchedulesPage::~SchedulesPage() = default;

QString SchedulesPage::selectedName() const
{
    const schedules::ScheduleRow* row = m_model->rowAt(m_view->currentIndex().row());
    return row ? row->name() : QString();
}

void SchedulesPage::updateActions()
{
    const schedules::ScheduleRow* row = m_model->rowAt(m_view->currentIndex().row());
    const bool writable = m_context->scheduleList().canWrite();
    m_add->setEnabled(writable);
    m_edit->setEnabled(row && writable);
    m_delete->setEnabled(row && writable);
    m_pauseResume->setEnabled(row && writable);
    const bool resume = row && !row->active();
    m_pauseResume->setText(resume ? tr("&Resume") : tr("&Pause"));
    m_pauseResume->setIcon(resume
                               ? themedIcon(QStringLiteral("media-playback-start"), QStyle::SP_MediaPlay)
                               : themedIcon(QStringLiteral("media-playback-pause"), QStyle::SP_MediaPause));
}

void SchedulesPage::updateEmptyState()
{
    updateActions();
    QString text;
    if (!m_context->scheduleList().canWrite())
        text = tr("Schedules are kept in the run database, which is not open.");
    else if (m_model->rowCount() == 0)
        text = tr("No schedules yet. Add one (%1) to run a flow on a cron expression or an interval, or from "
                  "a "
                  "terminal: flowdeck schedule add FLOW --cron \"0 2 * * *\"")
                   .arg(QKeySequence(QKeySequence::New).toString(QKeySequence::NativeText));
    m_empty->setText(text);
    m_empty->setVisible(!text.isEmpty());
}

ScheduleDialog* SchedulesPage::addSchedule(const QString& flowName)
{
    if (!m_context->scheduleList().canWrite())
        return nullptr;
    // The flows one can schedule: valid, with a document to keep.
    QList<FlowEntry> flows;
    for (int r = 0; r < m_flows->rowCount(); ++r) {
        const FlowEntry* entry = m_flows->entryAt(r);
        if (entry && entry->isValid() && !entry->document.isEmpty())
            flows.append(*entry);
    }
    auto* dialog = new ScheduleDialog(m_context->scheduleList(), flows, nullptr, flowName, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
    return dialog;
}

ScheduleDialog* SchedulesPage::editSelected()
{
    const schedules::ScheduleRow* row = m_model->rowAt(m_view->currentIndex().row());
    if (!row || !m_context->scheduleList().canWrite())
        return nullptr;
    QList<FlowEntry> flows;
    for (int r = 0; r < m_flows->rowCount(); ++r) {
        const FlowEntry* entry = m_flows->entryAt(r);
        if (entry && entry->isValid() && !entry->document.isEmpty())
            flows.append(*entry);
    }
    auto* dialog = new ScheduleDialog(m_context->scheduleList(), flows, row, {}, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
    return dialog;
}

void SchedulesPage::toggleSelected()
{
    const QModelIndex index = m_view->currentIndex();
    const schedules::ScheduleRow* row = m_model->rowAt(index.row());
    if (!row)
        return;
    m_model->setData(index.siblingAtColumn(ScheduleModel::ActiveColumn),
                     row->active() ? Qt::Unchecked : Qt::Checked, Qt::CheckStateRole);
}

QMessageBox* SchedulesPage::deleteSelected()
{
    const QString name = selectedName();
    if (name.isEmpty())
        return nullptr;
    auto* box = new QMessageBox(QMessageBox::Question, tr("Delete Schedule"),
                                tr("Delete schedule \"%1\"?").arg(name), QMessageBox::NoButton, this);
    box->setObjectName(QStringLiteral("confirmDeleteSchedule"));
    box->setInformativeText(tr("Its planned runs are cancelled; the runs it made stay in the history."));
    QPushButton* yes = box->addButton(tr("Delete"), QMessageBox::DestructiveRole);
    yes->setObjectName(QStringLiteral("confirmButton"));
    box->setDefaultButton(box->addButton(QMessageBox::Cancel));
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::buttonClicked, this, [this, yes, name](QAbstractButton* button) {
        if (button == yes)
            m_context->scheduleList().remove(name);
    });
    box->open();
    return box;
}

bool SchedulesPage::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_view && event->type() == QEvent::KeyPress) {
        const auto* key = static_cast<QKeyEvent*>(event);
        const bool plain = (key->modifiers() & ~Qt::KeypadModifier) == Qt::NoModifier;
        if (plain
            && (key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter || key->key() == Qt::Key_F2)) {
            editSelected();
            return true;
        }
        if (plain && key->key() == Qt::Key_Space) {
            toggleSelected();
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

} // namespace flowdeck
