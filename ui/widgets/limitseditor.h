#pragma once

#include <QWidget>

class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;

namespace flowdeck {

class AppContext;
class ConcurrencyModel;

/**
 * Tag concurrency limits, editable: the table of limits (the limit column edits in place), a row to
 * add or change one (tag and limit, validated), delete, and a line that says what was refused and why.
 * Used by the Concurrency page (with usage columns) and the Settings dialog (compact).
 */
class LimitsEditor : public QWidget {
    Q_OBJECT

public:
    LimitsEditor(AppContext* context, bool compact, QWidget* parent = nullptr);
    ~LimitsEditor() override;

    ConcurrencyModel* model() const { return m_model; }
    QTableView* view() const { return m_view; }
    QLineEdit* tagEdit() const { return m_tag; }
    QLineEdit* limitEdit() const { return m_limit; }
    QPushButton* setButton() const { return m_set; }
    //! Says why the last input was refused (visible then), or what was done.
    QLabel* messageLabel() const { return m_message; }
    //! The tag of the current row, or an empty string.
    QString currentTag() const;

    //! Validates the tag and limit fields and writes the limit; false (and nothing changed, the
    //! reason shown) when invalid.
    bool submit();
    //! Deletes the limit of the current row.
    bool removeCurrent();

Q_SIGNALS:
    void currentTagChanged(const QString& tag);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void showError(const QString& text);
    void showInfo(const QString& text);

    AppContext* m_context;
    ConcurrencyModel* m_model;
    QTableView* m_view;
    QLineEdit* m_tag;
    QLineEdit* m_limit;
    QPushButton* m_set;
    QPushButton* m_delete;
    QLabel* m_message;
};

} // namespace flowdeck
