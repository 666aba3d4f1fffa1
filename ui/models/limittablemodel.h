#pragma once

#include <QAbstractTableModel>
#include <QList>

class QTimer;

namespace flowdeck {

class AppContext;

/**
 * What the Concurrency page's limit tables share: rows kept sorted by their key, refreshed at most once
 * per display tick from the context's figures, with row-level inserts, removals and dataChanged (never a
 * reset, so selection and the in-place editor survive a refresh).
 */
class LimitTableModel : public QAbstractTableModel {
    Q_OBJECT

public:
    //! Reads the figures again now instead of at the next tick (tests, screenshots).
    void refresh();

Q_SIGNALS:
    //! An edit was refused: one line saying why.
    void invalidInput(const QString& message);
    //! The rows were refreshed (after the coalescing timer).
    void refreshed();

protected:
    LimitTableModel(AppContext* context, QObject* parent);

    //! Asks for a refresh at the next display tick; several asks in one tick give one refresh.
    void scheduleRefresh();
    //! Merges the context's current rows into the model (through mergeRows).
    virtual void reload() = 0;

    /**
     * Merges \a fresh into \a rows, both sorted by \a key: rows that went are removed, new ones
     * inserted, and changed ones (\a same false) emit dataChanged over all \a columns.
     */
    template<typename Row, typename Key, typename Same>
    void mergeRows(QList<Row>& rows, const QList<Row>& fresh, Key key, Same same, int columns)
    {
        qsizetype i = 0;
        qsizetype j = 0;
        while (i < rows.size() || j < fresh.size()) {
            if (j >= fresh.size() || (i < rows.size() && key(rows[i]) < key(fresh[j]))) {
                beginRemoveRows({}, int(i), int(i));
                rows.removeAt(i);
                endRemoveRows();
                continue;
            }
            if (i >= rows.size() || key(fresh[j]) < key(rows[i])) {
                beginInsertRows({}, int(i), int(i));
                rows.insert(i, fresh[j]);
                endInsertRows();
            } else if (!same(rows[i], fresh[j])) {
                rows[i] = fresh[j];
                Q_EMIT dataChanged(index(int(i), 0), index(int(i), columns - 1));
            }
            ++i;
            ++j;
        }
    }

    //! The row whose key is \a key, or -1.
    template<typename Row, typename Key>
    static int indexOf(const QList<Row>& rows, const QString& name, Key key)
    {
        for (qsizetype i = 0; i < rows.size(); ++i) {
            if (key(rows[i]) == name)
                return int(i);
        }
        return -1;
    }

    AppContext* m_context;

private:
    QTimer* m_timer;
};

} // namespace flowdeck
