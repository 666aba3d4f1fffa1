#pragma once

#include <QHash>
#include <QList>
#include <QObject>
#include <QSet>
#include <QString>

class QMenu;
class QAbstractItemView;
class QHeaderView;
class QTableView;
class QTreeView;

namespace flowdeck {

/**
 * Keeps a table's columns within its width: the header's context menu shows or hides each column (the
 * choice is kept in QSettings under the view's name), and when the columns shown would not fit, the
 * least important ones are hidden until they do, and shown again when the view grows.
 */
class ColumnFitter : public QObject {
    Q_OBJECT

public:
    //! \a hideOrder lists the columns that may be hidden for room, the first to go first; the others
    //! always show unless the user hides them. \a settingsName names the view in the settings.
    ColumnFitter(QTableView* view, const QString& settingsName, const QList<int>& hideOrder);
    ColumnFitter(QTreeView* view, const QString& settingsName, const QList<int>& hideOrder);
    ~ColumnFitter() override;

    //! Whether the user chose to hide \a column (hidden whatever the width).
    bool isHiddenByUser(int column) const { return m_userHidden.contains(column); }
    //! Shows or hides \a column by the user's choice, stored at once.
    void setHiddenByUser(int column, bool hidden);
    //! Whether \a column is hidden only because the view is too narrow.
    bool isHiddenForRoom(int column) const { return m_roomHidden.contains(column); }
    //! The show/hide entries of the header's context menu, added to \a menu.
    void addColumnActions(QMenu* menu);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    ColumnFitter(QAbstractItemView* view, QHeaderView* header, QHeaderView* rowHeader,
                 const QString& settingsName, const QList<int>& hideOrder);

    bool isStretched(int column) const;
    int neededWidth(int column) const;
    void fit();
    void loadChoice();
    void saveChoice() const;
    QString columnTitle(int column) const;

    QAbstractItemView* m_view;
    QHeaderView* m_header;
    QHeaderView* m_rowHeader; // a table's row numbers, or null
    QString m_key;
    QList<int> m_hideOrder;
    QSet<int> m_userHidden;
    QSet<int> m_roomHidden;
    QHash<int, int> m_widths; //!< last width each interactive column had while shown
    bool m_fitting = false;
};

} // namespace flowdeck
