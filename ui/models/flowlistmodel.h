#pragma once

#include "context/flowlibrary.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QStringList>

#include <vector>

class QFileSystemWatcher;
class QTimer;

namespace flowdeck {

class AppContext;
struct FlowRun;
struct UpdateBatch;

/**
 * The flows one can start: the embedded examples, flows defined in code, the user's flow folder,
 * added folders and opened files, each group kept together. Folders are read on a worker thread and
 * their rows replaced group by group (removes and inserts, no reset); invalid files are listed with
 * their errors. The last run of each flow in this session is shown and kept live.
 */
class FlowListModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { NameColumn, DescriptionColumn, TasksColumn, SourceColumn, LastRunColumn, ColumnCount };

    explicit FlowListModel(AppContext* context, QObject* parent = nullptr);
    ~FlowListModel() override;

    //! Reads the examples and code flows now, and every folder and file (remembered in QSettings)
    //! in the background.
    void reload();
    //! Adds a folder (remembered) and reads it in the background.
    void addFolder(const QString& folder);
    //! Adds one flow file (remembered) and reads it in the background.
    void addFile(const QString& path);
    QStringList folders() const { return m_folders; }
    QString userFolder() const { return m_userFolder; }
    //! Number of folder and file reads still running.
    int pendingLoads() const { return m_pendingLoads; }

    const FlowEntry* entryAt(int row) const;
    //! Row of the entry with this source, or -1.
    int rowOfSource(const QString& source) const;
    //! The newest flow run of an entry in this session, or null.

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

Q_SIGNALS:
    //! A group of entries was replaced after a background read.
    void groupLoaded(const QString& group);

private:
    struct Group {
        QString key;
        QList<FlowEntry> entries;
    };

    void setGroup(const QString& key, QList<FlowEntry> entries);
    void loadFolderAsync(const QString& key, const QString& folder, FlowEntry::Origin origin);
    void loadFileAsync(const QString& path);
    void apply(const UpdateBatch& batch);
    //! Records \a run as the last run of its flow when it is the newest; true when it is.
    bool noteRun(FlowRun* run);
    //! The newest run of \a entry, of this session or from the store.
    const FlowRun* lastRunOf(const FlowEntry& entry) const;
    void watch(const QString& folder);
    int firstRowOf(int group) const;

    AppContext* m_context;
    std::vector<Group> m_groups;
    QStringList m_folders;
    QStringList m_files;
    QString m_userFolder;
    QHash<QString, FlowRun*> m_lastRun; // by FlowDefinition::source
    //! Runs read from the store carry the database as their source: matched by flow name instead.
    QHash<QString, FlowRun*> m_lastStoredRun;
    QFileSystemWatcher* m_watcher;
    QTimer* m_rescan;
    QStringList m_changedFolders;
    int m_pendingLoads = 0;
    quint64 m_generation = 0; // drops results of reads started before the latest reload()
};

} // namespace flowdeck
