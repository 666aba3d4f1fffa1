#include "widgets/columnfitter.h"

#include "context/appsettings.h"

#include <QAction>
#include <QEvent>
#include <QHeaderView>
#include <QMenu>
#include <QScrollBar>
#include <QSettings>
#include <QTableView>
#include <QTreeView>

#include <algorithm>

namespace flowdeck {

ColumnFitter::ColumnFitter(QTableView* view, const QString& settingsName, const QList<int>& hideOrder)
    : ColumnFitter(view, view->horizontalHeader(), view->verticalHeader(), settingsName, hideOrder)
{
}

ColumnFitter::ColumnFitter(QTreeView* view, const QString& settingsName, const QList<int>& hideOrder)
    : ColumnFitter(view, view->header(), nullptr, settingsName, hideOrder)
{
}

ColumnFitter::ColumnFitter(QAbstractItemView* view, QHeaderView* header, QHeaderView* rowHeader,
                           const QString& settingsName, const QList<int>& hideOrder)
    : QObject(view)
    , m_view(view)
    , m_header(header)
    , m_rowHeader(rowHeader)
    , m_key(QStringLiteral("Columns/%1/hidden").arg(settingsName))
    , m_hideOrder(hideOrder)
{
    setObjectName(settingsName + QStringLiteral("Columns"));
    header->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(header, &QWidget::customContextMenuRequested, this, [this, header](const QPoint& pos) {
        QMenu menu(m_view);
        addColumnActions(&menu);
        menu.exec(header->mapToGlobal(pos));
    });
    // By keyboard too (the Menu key on the table): a Columns entry in the table's own menu, unless
    // the page builds that menu itself and offers addColumnActions() there.
    if (view->contextMenuPolicy() != Qt::CustomContextMenu) {
        view->setContextMenuPolicy(Qt::ActionsContextMenu);
        auto* columns = new QMenu(tr("C&olumns"), view);
        connect(columns, &QMenu::aboutToShow, this, [this, columns] {
            columns->clear();
            addColumnActions(columns);
        });
        QAction* entry = columns->menuAction();
        entry->setObjectName(settingsName + QStringLiteral("ColumnsMenu"));
        view->addAction(entry);
    }
    connect(header, &QHeaderView::sectionResized, this, [this, header](int column, int, int size) {
        if (!m_fitting && size > 0 && !isStretched(column))
            m_widths.insert(column, size);
    });
    // Headers come from the model; fit again when its columns change.
    if (view->model())
        connect(view->model(), &QAbstractItemModel::headerDataChanged, this, &ColumnFitter::fit);
    view->installEventFilter(this);
    loadChoice();
    fit();
}

ColumnFitter::~ColumnFitter() = default;

QString ColumnFitter::columnTitle(int column) const
{
    return m_view->model()->headerData(column, Qt::Horizontal, Qt::DisplayRole).toString();
}

void ColumnFitter::loadChoice()
{
    const QStringList hidden = appsettings::open().value(m_key).toStringList();
    const int count = m_view->model() ? m_view->model()->columnCount() : 0;
    for (int c = 0; c < count; ++c) {
        if (hidden.contains(columnTitle(c)))
            m_userHidden.insert(c);
    }
}

void ColumnFitter::saveChoice() const
{
    // Stored by title, so a column added to the model later does not shift the choice.
    QStringList hidden;
    for (int c : m_userHidden)
        hidden << columnTitle(c);
    hidden.sort();
    appsettings::open().setValue(m_key, hidden);
}

void ColumnFitter::setHiddenByUser(int column, bool hidden)
{
    if (hidden == m_userHidden.contains(column))
        return;
    if (hidden)
        m_userHidden.insert(column);
    else
        m_userHidden.remove(column);
    saveChoice();
    fit();
}

void ColumnFitter::addColumnActions(QMenu* menu)
{
    const int count = m_view->model()->columnCount();
    const int shownByChoice = count - int(m_userHidden.size());
    for (int c = 0; c < count; ++c) {
        QString text = columnTitle(c);
        if (m_roomHidden.contains(c))
            text = tr("%1 (hidden: too narrow)").arg(text);
        QAction* action = menu->addAction(text);
        action->setCheckable(true);
        action->setChecked(!m_userHidden.contains(c));
        // The last column the user shows stays: a table without columns cannot bring the menu back.
        action->setEnabled(m_userHidden.contains(c) || shownByChoice > 1);
        connect(action, &QAction::toggled, this, [this, c](bool on) { setHiddenByUser(c, !on); });
    }
}

bool ColumnFitter::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_view && (event->type() == QEvent::Resize || event->type() == QEvent::Show))
        fit();
    return QObject::eventFilter(watched, event);
}

bool ColumnFitter::isStretched(int column) const
{
    const QHeaderView* header = m_header;
    return header->sectionResizeMode(column) == QHeaderView::Stretch
        || (header->stretchLastSection() && column == m_view->model()->columnCount() - 1);
}

int ColumnFitter::neededWidth(int column) const
{
    QHeaderView* header = m_header;
    // A stretched column (a progress bar, a description) is still worth showing at this width; its
    // width now is whatever room was left.
    if (isStretched(column))
        return header->fontMetrics().averageCharWidth() * 20;
    switch (header->sectionResizeMode(column)) {
    case QHeaderView::ResizeToContents:
        return std::max(header->sectionSizeHint(column),
                        static_cast<const QAbstractItemView*>(m_view)->sizeHintForColumn(column));
    default:
        if (!header->isSectionHidden(column))
            return header->sectionSize(column);
        return m_widths.value(column, header->defaultSectionSize());
    }
}

void ColumnFitter::fit()
{
    if (m_fitting || !m_view->model())
        return;
    m_fitting = true;
    QHeaderView* header = m_header;
    const int count = m_view->model()->columnCount();
    for (int c = 0; c < count; ++c) {
        if (!header->isSectionHidden(c) && !isStretched(c)
            && header->sectionResizeMode(c) == QHeaderView::Interactive)
            m_widths.insert(c, header->sectionSize(c));
    }
    // The room a vertical scroll bar takes is counted as taken, so showing one does not hide a column.
    int room = m_view->width() - 2 * m_view->frameWidth() - m_view->verticalScrollBar()->sizeHint().width();
    if (m_rowHeader && m_rowHeader->isVisible())
        room -= m_rowHeader->width();
    int needed = 0;
    for (int c = 0; c < count; ++c) {
        if (!m_userHidden.contains(c))
            needed += neededWidth(c);
    }
    QSet<int> roomHidden;
    for (int c : m_hideOrder) {
        if (needed <= room)
            break;
        if (m_userHidden.contains(c))
            continue;
        roomHidden.insert(c);
        needed -= neededWidth(c);
    }
    m_roomHidden = roomHidden;
    for (int c = 0; c < count; ++c) {
        const bool hide = m_userHidden.contains(c) || m_roomHidden.contains(c);
        if (hide != header->isSectionHidden(c))
            header->setSectionHidden(c, hide);
    }
    m_fitting = false;
}

} // namespace flowdeck
