#include "models/logmodel.h"

#include "style/statestyle.h"

#include <QBrush>
#include <QFontDatabase>

namespace flowdeck {

LogModel::LogModel(AppContext* context, QObject* parent)
    : QAbstractTableModel(parent)
    , m_context(context)
{
    connect(context, &AppContext::updated, this, &LogModel::apply);
}

LogModel::~LogModel() = default;

void LogModel::setFlowRun(const FlowRun* run)
{
    if (run == m_run)
        return;
    beginResetModel();
    m_run = run;
    m_lines.clear();
    m_endSeq = 0;
    if (const LogBuffer* buffer = run ? m_context->logs().of(run) : nullptr) {
        m_lines.assign(buffer->lines.begin(), buffer->lines.end());
        m_endSeq = buffer->endSeq();
    }
    endResetModel();
}

int LogModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_lines.size());
}

int LogModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant LogModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const LogLine& line = m_lines[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TimeColumn:
            return formatClockMs(line.timeUs);
        case LevelColumn:
            return toString(line.level);
        case TaskColumn:
            return line.task;
        case MessageColumn:
            return line.message;
        default:
            break;
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == MessageColumn)
            return line.message;
        break;
    case Qt::ForegroundRole:
        if (index.column() == LevelColumn) {
            if (line.level == LogLevel::Error)
                return QBrush(stateColor(StateType::Failed));
            if (line.level == LogLevel::Warning)
                return QBrush(stateColor(StateType::Cancelling));
        }
        break;
    case Qt::FontRole:
        if (index.column() == MessageColumn)
            return QFontDatabase::systemFont(QFontDatabase::FixedFont);
        break;
    default:
        break;
    }
    return {};
}

QVariant LogModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case LevelColumn:
        return tr("Level");
    case TaskColumn:
        return tr("Task run");
    case MessageColumn:
        return tr("Message");
    default:
        break;
    }
    return {};
}

void LogModel::apply(const UpdateBatch& batch)
{
    if (m_run
        && std::find(batch.flowRunsWithLogs.begin(), batch.flowRunsWithLogs.end(), m_run)
            != batch.flowRunsWithLogs.end())
        pull();
}

void LogModel::pull()
{
    const LogBuffer* buffer = m_context->logs().of(m_run);
    if (!buffer || buffer->endSeq() <= m_endSeq)
        return;
    // Lines the context already dropped (more than MaxLogLines in one tick) are skipped.
    const quint64 from = std::max(m_endSeq, buffer->firstSeq);
    const int added = int(buffer->endSeq() - from);
    const int first = int(m_lines.size());
    beginInsertRows({}, first, first + added - 1);
    for (quint64 seq = from; seq < buffer->endSeq(); ++seq)
        m_lines.push_back(buffer->lines[size_t(seq - buffer->firstSeq)]);
    endInsertRows();
    m_endSeq = buffer->endSeq();
    const int excess = int(m_lines.size()) - LogBuffers::MaxLines;
    if (excess > 0) {
        beginRemoveRows({}, 0, excess - 1);
        m_lines.erase(m_lines.begin(), m_lines.begin() + excess);
        endRemoveRows();
    }
}

} // namespace flowdeck
