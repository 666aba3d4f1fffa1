#pragma once

#include "context/flowlibrary.h"
#include "store/schedulerow.h"

#include <QDialog>
#include <QList>

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace flowdeck {

class Schedules;

/**
 * Adds a schedule, or edits one: the flow (its document is stored with the schedule), a cron
 * expression or an interval in a time zone, fixed parameters and limits. The expression is checked
 * as it is typed: the error names the field and the value, and the next 5 fire times show. Saving
 * writes through Schedules; the dialog closes once the store took it, and says why when it did not.
 */
class ScheduleDialog : public QDialog {
    Q_OBJECT

public:
    static constexpr int ShownFireTimes = 5;

    //! \a flows: the flows one can schedule (valid ones with a document). \a editing: the schedule to
    //! change, or null to add one (for \a flowName, when given).
    ScheduleDialog(Schedules& schedules, const QList<FlowEntry>& flows, const schedules::ScheduleRow* editing,
                   const QString& flowName = {}, QWidget* parent = nullptr);
    ~ScheduleDialog() override;

    QLineEdit* nameEdit() const { return m_name; }
    QComboBox* flowBox() const { return m_flow; }
    //! "Cron expression" (0) or "Interval" (1).
    QComboBox* kindBox() const { return m_kind; }
    QLineEdit* expressionEdit() const { return m_expression; }
    QComboBox* zoneBox() const { return m_zone; }
    QLineEdit* anchorEdit() const { return m_anchor; }
    QLineEdit* parametersEdit() const { return m_parameters; }
    QSpinBox* maxActiveRunsEditor() const { return m_maxActive; }
    //! Why the schedule cannot be saved as it stands (empty when it can).
    QLabel* errorLabel() const { return m_error; }
    //! The next fire times, one per line.
    QLabel* fireTimesLabel() const { return m_fireTimes; }
    QPushButton* saveButton() const;

    //! The schedule as the fields say, or nullopt with the error (naming the field) in \a error.
    std::optional<schedules::ScheduleDraft> draft(QString* error) const;

    void accept() override;

private:
    void validate();
    void onKindChanged();

    Schedules& m_schedules;
    QList<FlowEntry> m_flows;
    QString m_editing; //!< the name of the schedule being edited; empty when adding
    schedules::ScheduleDraft m_original;
    QLineEdit* m_name;
    QComboBox* m_flow;
    QComboBox* m_kind;
    QLineEdit* m_expression;
    QComboBox* m_zone;
    QLabel* m_anchorLabel;
    QLineEdit* m_anchor;
    QLineEdit* m_parameters;
    QSpinBox* m_maxActive;
    QComboBox* m_onLimit;
    QComboBox* m_catchup;
    QLabel* m_error;
    QLabel* m_fireTimes;
    QDialogButtonBox* m_buttons;
    bool m_saving = false;
};

} // namespace flowdeck
