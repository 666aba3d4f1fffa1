#include "models/flowlistmodel.h"

#include "context/appcontext.h"
#include "context/appsettings.h"
#include "flow/flowparser.h"
#include "models/modelroles.h"
#include "style/statestyle.h"

#include <QApplication>
#include <QBrush>
#include <QDir>
#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QFutureWatcher>
#include <QPalette>
#include <QStyle>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>

namespace flowdeck {

namespace {

const QString ExamplesGroup = QStringLiteral("examples");
const QString CodeGroup = QStringLiteral("code");
const QString FilesGroup = QStringLiteral("files");

QString folderGroup(const QString& folder)
{
    return QStringLiteral("folder:") + folder;
}

QString displayPath(const QString& path)
{
    const QString home = QDir::homePath();
    QString shown = QDir::toNativeSeparators(path);
    if (!home.isEmpty() && path.startsWith(home + QLatin1Char('/')))
        shown = QStringLiteral("~") + QDir::toNativeSeparators(path.mid(home.size()));
    return shown;
}

//! Runs \a read on a worker thread and hands its result to \a done on \a context's thread; nothing
//! is delivered once \a context is gone (the watcher goes with it).
template<typename Read, typename Done>
void runInBackground(QObject* context, Read read, Done done)
{
    using Result = std::invoke_result_t<Read>;
    auto* watcher = new QFutureWatcher<Result>(context);
    QObject::connect(watcher, &QFutureWatcherBase::finished, context, [watcher, done = std::move(done)] {
        done(watcher->result());
        watcher->deleteLater();
    });
    watcher->setFuture(QtConcurrent::run(std::move(read)));
}

QString errorsText(const ValidationErrors& errors)
{
    QStringList lines;
    for (const ValidationError& e : errors)
        lines << e.toString();
    return lines.join(QLatin1Char('\n'));
}

} // namespace

FlowListModel::FlowListModel(AppContext* context, QObject* parent)
    : QAbstractTableModel(parent)
    , m_context(context)
    , m_watcher(new QFileSystemWatcher(this))
    , m_rescan(new QTimer(this))
{
    for (const auto& run : context->flowRuns())
        m_lastRun.insert(run->def.source, run.get());
    connect(context, &AppContext::updated, this, &FlowListModel::apply);
    // The store's runs, read once it opens: earlier sessions' last runs.
    auto loadStored = [this] {
        bool any = false;
        for (FlowRun* run : m_context->history().runs())
            any |= noteRun(run);
        if (any && rowCount() > 0)
            Q_EMIT dataChanged(index(0, LastRunColumn), index(rowCount() - 1, LastRunColumn));
    };
    connect(&context->history(), &RunHistory::historyChanged, this, loadStored);
    loadStored();

    // Files saved into a watched folder show up without a manual reload (debounced).
    m_rescan->setSingleShot(true);
    m_rescan->setInterval(300);
    connect(m_watcher, &QFileSystemWatcher::directoryChanged, this, [this](const QString& folder) {
        if (!m_changedFolders.contains(folder))
            m_changedFolders << folder;
        m_rescan->start();
    });
    connect(m_rescan, &QTimer::timeout, this, [this] {
        const QStringList changed = std::exchange(m_changedFolders, {});
        for (const QString& folder : changed) {
            const auto origin
                = folder == m_userFolder ? FlowEntry::Origin::UserFolder : FlowEntry::Origin::Folder;
            loadFolderAsync(folderGroup(folder), folder, origin);
        }
    });
    reload();
}

FlowListModel::~FlowListModel()
{
    // Qt 6.4's ~QFileSystemWatcher reads freed path strings when paths are still watched.
    const QStringList watched = m_watcher->directories();
    if (!watched.isEmpty())
        m_watcher->removePaths(watched);
}

void FlowListModel::reload()
{
    ++m_generation;
    m_pendingLoads = 0;
    // Embedded and code-defined flows are in memory already: read them now.
    setGroup(ExamplesGroup, flowlibrary::loadExamples(m_context->parser()));
    setGroup(CodeGroup, flowlibrary::loadCatalog(m_context->parser()));

    m_userFolder = flowlibrary::userFlowFolder();
    m_folders.clear();
    for (const QString& folder : appsettings::flowFolders()) {
        const QString clean = QDir::cleanPath(folder);
        if (clean != m_userFolder && !m_folders.contains(clean))
            m_folders << clean;
    }
    m_files = appsettings::flowFiles();

    // Keep the group order stable (user folder, added folders, files) while reads finish in any order.
    QStringList keys{ExamplesGroup, CodeGroup, folderGroup(m_userFolder)};
    for (const QString& folder : std::as_const(m_folders))
        keys << folderGroup(folder);
    keys << FilesGroup;
    for (int i = int(m_groups.size()) - 1; i >= 0; --i) {
        if (!keys.contains(m_groups[size_t(i)].key)) {
            const int first = firstRowOf(i);
            const int count = int(m_groups[size_t(i)].entries.size());
            if (count > 0)
                beginRemoveRows({}, first, first + count - 1);
            m_groups.erase(m_groups.begin() + i);
            if (count > 0)
                endRemoveRows();
        }
    }
    for (const QString& key : keys) {
        if (std::none_of(m_groups.begin(), m_groups.end(), [&](const Group& g) { return g.key == key; }))
            m_groups.push_back({key, {}});
    }

    watch(m_userFolder);
    loadFolderAsync(folderGroup(m_userFolder), m_userFolder, FlowEntry::Origin::UserFolder);
    for (const QString& folder : std::as_const(m_folders)) {
        watch(folder);
        loadFolderAsync(folderGroup(folder), folder, FlowEntry::Origin::Folder);
    }
    setGroup(FilesGroup, {});
    for (const QString& file : std::as_const(m_files))
        loadFileAsync(file);
}

void FlowListModel::addFolder(const QString& folder)
{
    const QString clean = QDir::cleanPath(folder);
    if (clean == m_userFolder || m_folders.contains(clean)) {
        loadFolderAsync(folderGroup(clean), clean,
                        clean == m_userFolder ? FlowEntry::Origin::UserFolder : FlowEntry::Origin::Folder);
        return;
    }
    m_folders << clean;
    appsettings::setFlowFolders(m_folders);
    // A new group goes before the opened files.
    const auto files
        = std::find_if(m_groups.begin(), m_groups.end(), [](const Group& g) { return g.key == FilesGroup; });
    m_groups.insert(files, Group{folderGroup(clean), {}});
    watch(clean);
    loadFolderAsync(folderGroup(clean), clean, FlowEntry::Origin::Folder);
}

void FlowListModel::addFile(const QString& path)
{
    const QString clean = QDir::cleanPath(QFileInfo(path).absoluteFilePath());
    if (!m_files.contains(clean)) {
        m_files << clean;
        appsettings::setFlowFiles(m_files);
    }
    loadFileAsync(clean);
}

void FlowListModel::watch(const QString& folder)
{
    if (QFileInfo(folder).isDir() && !m_watcher->directories().contains(folder))
        m_watcher->addPath(folder);
}

void FlowListModel::loadFolderAsync(const QString& key, const QString& folder, FlowEntry::Origin origin)
{
    ++m_pendingLoads;
    const FlowParser* parser = &m_context->parser();
    const quint64 generation = m_generation;
    // Flow files are small, but a folder may be on a slow disk: read it off the GUI thread.
    runInBackground(
        this, [parser, folder, origin] { return flowlibrary::loadFolder(*parser, folder, origin); },
        [this, key, generation](const QList<FlowEntry>& entries) {
            if (generation != m_generation)
                return; // a reload() started since; its own read will report
            --m_pendingLoads;
            setGroup(key, entries);
            Q_EMIT groupLoaded(key);
        });
}

void FlowListModel::loadFileAsync(const QString& path)
{
    ++m_pendingLoads;
    const FlowParser* parser = &m_context->parser();
    const quint64 generation = m_generation;
    runInBackground(
        this, [parser, path] { return flowlibrary::loadFile(*parser, path, FlowEntry::Origin::File); },
        [this, generation](const FlowEntry& entry) {
            if (generation != m_generation)
                return;
            --m_pendingLoads;
            const auto group = std::find_if(m_groups.begin(), m_groups.end(),
                                            [](const Group& g) { return g.key == FilesGroup; });
            QList<FlowEntry> entries = group->entries;
            const auto same = std::find_if(entries.begin(), entries.end(),
                                           [&](const FlowEntry& e) { return e.source == entry.source; });
            if (same != entries.end())
                *same = entry;
            else
                entries.append(entry);
            setGroup(FilesGroup, entries);
            Q_EMIT groupLoaded(FilesGroup);
        });
}

int FlowListModel::firstRowOf(int group) const
{
    int row = 0;
    for (int i = 0; i < group; ++i)
        row += int(m_groups[size_t(i)].entries.size());
    return row;
}

void FlowListModel::setGroup(const QString& key, QList<FlowEntry> entries)
{
    auto it = std::find_if(m_groups.begin(), m_groups.end(), [&](const Group& g) { return g.key == key; });
    if (it == m_groups.end()) {
        m_groups.push_back({key, {}});
        it = m_groups.end() - 1;
    }
    const int group = int(it - m_groups.begin());
    const int first = firstRowOf(group);
    const int oldCount = int(it->entries.size());
    const int newCount = int(entries.size());
    // Rows present before and after are updated in place (a rescan usually changes nothing);
    // only the difference is removed or inserted.
    const int common = std::min(oldCount, newCount);
    if (oldCount > newCount) {
        beginRemoveRows({}, first + newCount, first + oldCount - 1);
        it->entries.erase(it->entries.begin() + newCount, it->entries.end());
        endRemoveRows();
    }
    for (int i = 0; i < common; ++i)
        it->entries[i] = entries[i];
    if (common > 0)
        Q_EMIT dataChanged(index(first, 0), index(first + common - 1, ColumnCount - 1));
    if (newCount > oldCount) {
        beginInsertRows({}, first + oldCount, first + newCount - 1);
        for (int i = oldCount; i < newCount; ++i)
            it->entries.append(entries[i]);
        endInsertRows();
    }
}

const FlowEntry* FlowListModel::entryAt(int row) const
{
    if (row < 0)
        return nullptr;
    for (const Group& group : m_groups) {
        if (row < group.entries.size())
            return &group.entries[row];
        row -= int(group.entries.size());
    }
    return nullptr;
}

int FlowListModel::rowOfSource(const QString& source) const
{
    int row = 0;
    for (const Group& group : m_groups) {
        for (const FlowEntry& entry : group.entries) {
            if (entry.source == source)
                return row;
            ++row;
        }
    }
    return -1;
}

int FlowListModel::rowCount(const QModelIndex& parent) const
{
    if (parent.isValid())
        return 0;
    int rows = 0;
    for (const Group& group : m_groups)
        rows += int(group.entries.size());
    return rows;
}

int FlowListModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant FlowListModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const FlowEntry* entry = entryAt(index.row());
    if (!entry)
        return {};
    if (role == Qt::ToolTipRole && !entry->isValid())
        return tr("This flow does not validate and cannot be started:\n%1").arg(errorsText(entry->errors));

    switch (index.column()) {
    case NameColumn:
        switch (role) {
        case Qt::DisplayRole:
        case SortRole:
            return entry->name;
        case Qt::DecorationRole:
            if (!entry->isValid())
                return QApplication::style()->standardIcon(QStyle::SP_MessageBoxWarning);
            break;
        }
        break;
    case DescriptionColumn:
        switch (role) {
        case Qt::DisplayRole:
            if (!entry->isValid())
                return QString(tr("Invalid: %1").arg(entry->errors.constFirst().toString())
                               + (entry->errors.size() > 1
                                      ? tr(" (and %n more)", nullptr, int(entry->errors.size()) - 1)
                                      : QString()));
            {
                // The first sentence; the tooltip and the details pane have the rest.
                const qsizetype end = entry->description.indexOf(QStringLiteral(". "));
                return (end < 0 ? entry->description : entry->description.left(end + 1)).simplified();
            }
        case Qt::ToolTipRole:
            return entry->description;
        case Qt::ForegroundRole:
            if (!entry->isValid())
                return QBrush(stateColor(StateType::Failed));
            break;
        }
        break;
    case TasksColumn:
        switch (role) {
        case Qt::DisplayRole:
            return entry->taskCount;
        case SortRole:
            return entry->taskCount;
        case Qt::TextAlignmentRole:
            return int(Qt::AlignRight | Qt::AlignVCenter);
        case Qt::ToolTipRole:
            if (entry->isValid())
                return entry->taskRunCount == 1
                    ? tr("1 task run with the default parameters")
                    : tr("%1 task runs with the default parameters").arg(entry->taskRunCount);
            break;
        }
        break;
    case SourceColumn:
        switch (role) {
        case Qt::DisplayRole:
            switch (entry->origin) {
            case FlowEntry::Origin::Example:
                return tr("Example");
            case FlowEntry::Origin::Code:
                return tr("Defined in code");
            default:
                return displayPath(entry->source);
            }
        case Qt::ToolTipRole:
            return QDir::toNativeSeparators(entry->source);
        }
        break;
    case LastRunColumn: {
        const FlowRun* run = lastRunOf(*entry);
        if (!run)
            break;
        if (role == Qt::ToolTipRole)
            return tr("%1, started %2").arg(toString(run->name), formatClock(run->createdUs));
        return stateBadgeData(run->type, role);
    }
    default:
        break;
    }
    return {};
}

QVariant FlowListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn:
        return tr("Name");
    case DescriptionColumn:
        return tr("Description");
    case TasksColumn:
        return tr("Tasks");
    case SourceColumn:
        return tr("Source");
    case LastRunColumn:
        return tr("Last run");
    default:
        break;
    }
    return {};
}

bool FlowListModel::noteRun(FlowRun* run)
{
    // A run that waits to start (planned by a schedule for later, queued for a worker) is not a last
    // run yet: it counts once it starts.
    if (run->type == StateType::Scheduled && run->startedUs == 0)
        return false;
    const bool stored = m_context->history().isStored(run);
    FlowRun*& last = stored ? m_lastStoredRun[run->def.name] : m_lastRun[run->def.source];
    if (last && last->createdUs > run->createdUs)
        return false;
    last = run;
    return true;
}

const FlowRun* FlowListModel::lastRunOf(const FlowEntry& entry) const
{
    const FlowRun* live = m_lastRun.value(entry.source);
    const FlowRun* stored = m_lastStoredRun.value(entry.name);
    if (!live || (stored && stored->createdUs > live->createdUs))
        return stored;
    return live;
}

void FlowListModel::apply(const UpdateBatch& batch)
{
    bool storedChanged = false;
    for (FlowRun* run : batch.changedFlowRuns) {
        if (!noteRun(run))
            continue;
        if (m_context->history().isStored(run)) {
            storedChanged = true; // matched by name: any row may show it
            continue;
        }
        const int row = rowOfSource(run->def.source);
        if (row >= 0)
            Q_EMIT dataChanged(index(row, LastRunColumn), index(row, LastRunColumn));
    }
    if (storedChanged && rowCount() > 0)
        Q_EMIT dataChanged(index(0, LastRunColumn), index(rowCount() - 1, LastRunColumn));
}

} // namespace flowdeck
