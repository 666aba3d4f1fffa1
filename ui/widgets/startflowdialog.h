#pragma once

#include "context/flowlibrary.h"
#include "flow/flow.h"
#include "session/runcontrol.h"

#include <QDialog>
#include <QJsonObject>

#include <optional>
#include <vector>

class QCheckBox;
class QGroupBox;
class QLabel;
class QPushButton;
class QRadioButton;
class QWidget;

namespace flowdeck {

class FlowParser;

/**
 * Asks for a flow's parameters before it starts: one editor per parameter, chosen by the JSON type
 * of its default (spin boxes for numbers, a check box for bools, a line for strings, JSON text for
 * arrays and objects). Every change is validated with FlowParser::resolve; the errors are shown
 * and Start stays disabled until the flow validates.
 */
class StartFlowDialog : public QDialog {
    Q_OBJECT

public:
    StartFlowDialog(const FlowEntry& entry, const FlowParser& parser, QWidget* parent = nullptr);
    /**
     * Run Again: a new run of the stored flow run \a runId from \a rerun, its document as stored and
     * each parameter's editor filled with the value that run had (the user may change them). Its seed,
     * when known, is offered as "Same seed" (unchecked: a new seed, as `runs rerun` draws). \a source is the
     * new run's FlowDefinition::source.
     */
    StartFlowDialog(const RerunSource& rerun, const QString& runId, const QString& source,
                    const FlowParser& parser, QWidget* parent = nullptr);
    ~StartFlowDialog() override;

    //! The flow entry Run Again starts from: \a rerun's document, with its values as the parameters.
    static FlowEntry rerunEntry(const RerunSource& rerun, const QString& source);

    //! The resolved flow with the values entered; set once the dialog validates.
    const std::optional<FlowDefinition>& flow() const { return m_flow; }
    QJsonObject overrides() const;
    //! The errors shown now, one per line; empty when the flow validates.
    QString errorText() const;
    //! The editor of a parameter (for tests), or null.
    QWidget* editor(const QString& parameter) const;

    void accept() override;

    //! Where the run goes: this app's engine, or the database's queue for a worker.
    enum class Target { ThisApp, Worker };
    Target target() const;
    /**
     * Workers online on the app's database now (\a names, for the label): with at least one, the
     * dialog offers "Queue for a worker" beside "Run in this app" (the default). With none the
     * choice is hidden and the run goes to this app.
     */
    void setWorkersOnline(const QStringList& names);
    //! True once setWorkersOnline() was called: the dialog knows whether workers are online.
    bool workersKnown() const { return m_workersKnown; }
    //! The "Run in this app" / "Queue for a worker" choice (for tests); hidden without workers.
    QGroupBox* targetBox() const { return m_targetBox; }
    //! Run Again's "Same seed" check box; null for a plain start or a run of unknown seed.
    QCheckBox* sameSeedBox() const { return m_sameSeed; }

protected:
    void showEvent(QShowEvent* event) override;

private:
    struct Editor {
        QString name;
        QJsonValue defaultValue;
        QWidget* widget = nullptr;
    };

    //! The dialog's rows; \a rerunOf names the run Run Again starts from (empty for a plain start).
    void build(const QString& rerunOf, std::optional<quint64> seed);
    //! An editor for \a value, of the kind of \a documentDefault when that is a number.
    QWidget* createEditor(const QJsonValue& value, const QJsonValue& documentDefault);
    //! Reads the editors; false with \a error when a JSON text does not parse.
    bool readValues(QJsonObject* overrides, QString* error) const;
    void validate();
    void updateStartText();
    //! Grows the shown dialog to the height its contents need at its width.
    void growToFit();

    FlowEntry m_entry;
    const FlowParser& m_parser;
    std::vector<Editor> m_editors;
    QLabel* m_errors;
    QPushButton* m_start;
    QGroupBox* m_targetBox = nullptr;
    QRadioButton* m_inApp = nullptr;
    QRadioButton* m_onWorker = nullptr;
    QCheckBox* m_sameSeed = nullptr;
    quint64 m_seed = 0; //!< the seed "Same seed" keeps
    bool m_workersKnown = false;
    std::optional<FlowDefinition> m_flow;
};

} // namespace flowdeck
