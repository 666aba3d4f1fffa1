#pragma once

#include <QDialog>
#include <QJsonObject>

class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace flowdeck {

/**
 * The flow document a flow run ran, as stored (before parameters were substituted): indented JSON,
 * read-only and selectable, with a button that copies it whole. A stored run's document is read from
 * the database: the dialog says so until setDocument() or setError().
 */
class FlowDocumentDialog : public QDialog {
    Q_OBJECT

public:
    //! For the flow run of flow \a flowName with the short id \a runId.
    FlowDocumentDialog(const QString& flowName, const QString& runId, QWidget* parent = nullptr);
    ~FlowDocumentDialog() override;

    void setDocument(const QJsonObject& document);
    //! The document could not be read: \a error says why.
    void setError(const QString& error);
    //! The JSON shown; empty while it is read or when it could not be.
    QString text() const;
    QPushButton* copyButton() const { return m_copy; }

private:
    QLabel* m_status;
    QPlainTextEdit* m_text;
    QPushButton* m_copy;
};

} // namespace flowdeck
