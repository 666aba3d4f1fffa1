#include "widgets/scheduledialog.h"

#include "context/schedules.h"
#include "schedule/schedulespec.h"
#include "style/statestyle.h"

#include <QComboBox>
#include <QCompleter>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScreen>
#include <QScrollArea>
#include <QSpinBox>
#include <QTimeZone>
#include <QVBoxLayout>

namespace flowdeck {

ScheduleDialog::ScheduleDialog(Schedules& schedules, const QList<FlowEntry>& flows,
                               const schedules::ScheduleRow* editing, const QString& flowName,
                               QWidget* parent)
    : QDialog(parent)
    , m_schedules(schedules)
    , m_flows(flows)
    , m_name(new QLineEdit(this))
    , m_flow(new QComboBox(this))
    , m_kind(new QComboBox(this))
    , m_expression(new QLineEdit(this))
    , m_zone(new QComboBox(this))
    , m_anchorLabel(new QLabel(tr("&Anchor:"), this))
    , m_anchor(new QLineEdit(this))
    , m_parameters(new QLineEdit(this))
    , m_maxActive(new QSpinBox(this))
    , m_onLimit(new QComboBox(this))
    , m_catchup(new QComboBox(this))
    , m_error(new QLabel(this))
    , m_fireTimes(new QLabel(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this))
{
    setObjectName(QStringLiteral("scheduleDialog"));
    setWindowTitle(editing ? tr("Edit Schedule") : tr("Add Schedule"));
    m_name->setObjectName(QStringLiteral("scheduleName"));
    m_flow->setObjectName(QStringLiteral("scheduleFlow"));
    m_kind->setObjectName(QStringLiteral("scheduleKind"));
    m_expression->setObjectName(QStringLiteral("scheduleExpression"));
    m_zone->setObjectName(QStringLiteral("scheduleZone"));
    m_anchor->setObjectName(QStringLiteral("scheduleAnchor"));
    m_parameters->setObjectName(QStringLiteral("scheduleParameters"));
    m_error->setObjectName(QStringLiteral("scheduleError"));
    m_fireTimes->setObjectName(QStringLiteral("scheduleFireTimes"));

    // A schedule keeps the flow's document: an edited one keeps the version it was stored with
    // unless another flow is chosen.
    if (editing) {
        m_editing = editing->name();
        m_original = editing->draft;
        m_flow->addItem(tr("%1 (as stored)").arg(m_original.flowName), -1);
    }
    for (qsizetype i = 0; i < m_flows.size(); ++i)
        m_flow->addItem(m_flows.at(i).name, int(i));
    m_kind->addItems({tr("Cron expression"), tr("Interval")});
    m_zone->setEditable(true);
    m_zone->setInsertPolicy(QComboBox::NoInsert);
    m_zone->addItem(QString());
    for (const QByteArray& id : QTimeZone::availableTimeZoneIds())
        m_zone->addItem(QString::fromLatin1(id));
    m_zone->completer()->setCaseSensitivity(Qt::CaseInsensitive);
    m_zone->completer()->setFilterMode(Qt::MatchContains);
    m_zone->lineEdit()->setPlaceholderText(
        tr("local (%1)").arg(QString::fromLatin1(QTimeZone::systemTimeZoneId())));
    m_anchor->setPlaceholderText(tr("optional: 2027-03-29T02:30, or 09:00"));
    m_parameters->setPlaceholderText(tr("optional: {\"name\": value, …}"));
    m_maxActive->setRange(0, 100000);
    m_maxActive->setSpecialValueText(tr("no limit"));
    m_onLimit->addItem(tr("wait (enqueue)"), QStringLiteral("enqueue"));
    m_onLimit->addItem(tr("skip (cancel the new run)"), QStringLiteral("skip"));
    m_catchup->addItem(tr("the latest missed"), QStringLiteral("latest"));
    m_catchup->addItem(tr("none"), QStringLiteral("none"));
    m_catchup->addItem(tr("all missed"), QStringLiteral("all"));

    if (editing) {
        m_name->setText(m_original.name);
        m_kind->setCurrentIndex(m_original.cron.isEmpty() ? 1 : 0);
        m_expression->setText(m_original.cron.isEmpty() ? ScheduleSpec::durationText(m_original.intervalUs)
                                                        : m_original.cron);
        m_zone->setCurrentText(m_original.timezone);
        if (m_original.anchorUs) {
            if (const auto spec = m_original.spec())
                m_anchor->setText(isoWithOffset(spec->toZoned(*m_original.anchorUs)));
        }
        if (!m_original.parameters.isEmpty())
            m_parameters->setText(
                QString::fromUtf8(QJsonDocument(m_original.parameters).toJson(QJsonDocument::Compact)));
        m_maxActive->setValue(m_original.maxActiveRuns);
        m_onLimit->setCurrentIndex(m_onLimit->findData(schedules::toString(m_original.onLimit)));
        m_catchup->setCurrentIndex(m_catchup->findData(schedules::toString(m_original.catchup)));
    } else {
        m_expression->setText(QStringLiteral("0 * * * *"));
        for (qsizetype i = 0; i < m_flows.size(); ++i) {
            if (m_flows.at(i).name == flowName)
                m_flow->setCurrentIndex(int(i));
        }
    }

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("&Name:"), m_name);
    form->addRow(tr("&Flow:"), m_flow);
    form->addRow(tr("&Runs on:"), m_kind);
    form->addRow(tr("&Expression:"), m_expression);
    form->addRow(tr("Time &zone:"), m_zone);
    m_anchorLabel->setBuddy(m_anchor);
    form->addRow(m_anchorLabel, m_anchor);
    form->addRow(tr("&Parameters:"), m_parameters);
    form->addRow(tr("&Max active runs:"), m_maxActive);
    form->addRow(tr("At the &limit:"), m_onLimit);
    form->addRow(tr("&Catch up:"), m_catchup);
    m_error->setWordWrap(true);
    m_error->setTextFormat(Qt::PlainText);
    QPalette errorPalette = m_error->palette();
    errorPalette.setColor(QPalette::WindowText, stateColor(StateType::Failed));
    m_error->setPalette(errorPalette);
    m_fireTimes->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // The fields scroll on a small screen (900x600, or scale 2); the error and the buttons stay in view.
    auto* fields = new QWidget(this);
    auto* fieldsLayout = new QVBoxLayout(fields);
    fieldsLayout->setContentsMargins(0, 0, 0, 0);
    fieldsLayout->addLayout(form);
    auto* timesTitle = new QLabel(tr("Next %1 fire times:").arg(ShownFireTimes), fields);
    fieldsLayout->addWidget(timesTitle);
    fieldsLayout->addWidget(m_fireTimes);
    fieldsLayout->addStretch(1);
    auto* scroll = new QScrollArea(this);
    scroll->setObjectName(QStringLiteral("scheduleFields"));
    scroll->setWidget(fields);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(scroll, 1);
    layout->addWidget(m_error);
    layout->addWidget(m_buttons);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &ScheduleDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &ScheduleDialog::reject);

    for (QLineEdit* edit : {m_name, m_expression, m_anchor, m_parameters})
        connect(edit, &QLineEdit::textChanged, this, &ScheduleDialog::validate);
    connect(m_zone, &QComboBox::currentTextChanged, this, &ScheduleDialog::validate);
    connect(m_flow, &QComboBox::currentIndexChanged, this, &ScheduleDialog::validate);
    connect(m_kind, &QComboBox::currentIndexChanged, this, &ScheduleDialog::onKindChanged);
    // The store's answer: closed once it took the schedule, else the reason stays in view.
    connect(&m_schedules, &Schedules::written, this, [this](const QString& name) {
        if (m_saving && name == m_name->text().trimmed()) {
            m_saving = false;
            QDialog::accept();
        }
    });
    connect(&m_schedules, &Schedules::writeFailed, this, [this](const QString& name, const QString& error) {
        if (!m_saving || name != m_name->text().trimmed())
            return;
        m_saving = false;
        m_error->setText(error);
        saveButton()->setEnabled(true);
    });
    onKindChanged();
    // As tall as its fields, within the screen: a frame and title bar's room is left.
    QSize size(560,
               fields->sizeHint().height() + m_buttons->sizeHint().height() + m_error->sizeHint().height()
                   + 40);
    if (const QScreen* screen = parent ? parent->screen() : this->screen())
        size = size.boundedTo(screen->availableGeometry().size() - QSize(16, 48));
    resize(size);
}

ScheduleDialog::~ScheduleDialog() = default;

QPushButton* ScheduleDialog::saveButton() const
{
    return m_buttons->button(QDialogButtonBox::Save);
}

void ScheduleDialog::onKindChanged()
{
    const bool interval = m_kind->currentIndex() == 1;
    m_expression->setPlaceholderText(interval ? tr("30s, 15m, 1h30m, 1d")
                                              : tr("minute hour day month weekday, or @daily"));
    m_expression->setToolTip(interval
                                 ? tr("How often: a duration with s, m, h or d units")
                                 : tr("Five cron fields (lists, ranges, steps, names) or @hourly, @daily, "
                                      "@weekly, @monthly"));
    m_anchor->setEnabled(interval);
    m_anchorLabel->setEnabled(interval);
    validate();
}

std::optional<schedules::ScheduleDraft> ScheduleDialog::draft(QString* error) const
{
    auto fail = [error](const QString& text) {
        if (error)
            *error = text;
        return std::nullopt;
    };
    schedules::ScheduleDraft d;
    d.name = m_name->text().trimmed();
    if (d.name.isEmpty())
        return fail(tr("Name: a schedule needs a name."));
    const int flowIndex = m_flow->currentData().toInt();
    if (m_flow->currentIndex() < 0)
        return fail(tr("Flow: choose the flow the schedule runs."));
    if (flowIndex < 0) {
        d.flowName = m_original.flowName;
        d.source = m_original.source;
        d.document = m_original.document;
    } else {
        const FlowEntry& flow = m_flows.at(flowIndex);
        d.flowName = flow.name;
        d.source = flow.source;
        d.document = flow.document;
    }
    d.timezone = m_zone->currentText().trimmed();
    ScheduleExprError exprError;
    const QString expression = m_expression->text().trimmed();
    if (m_kind->currentIndex() == 0) {
        if (expression.isEmpty())
            return fail(tr("Expression: enter a cron expression (five fields, or @daily)."));
        d.cron = expression;
    } else {
        const std::optional<qint64> every = ScheduleSpec::parseDuration(expression, &exprError);
        if (!every)
            return fail(exprError.message());
        d.intervalUs = *every;
        if (!m_anchor->text().trimmed().isEmpty()) {
            d.anchorUs = ScheduleSpec::parseAnchor(m_anchor->text().trimmed(), d.timezone, &exprError);
            if (!d.anchorUs)
                return fail(exprError.message());
        }
    }
    if (!d.spec(&exprError))
        return fail(exprError.message());
    const QString parameters = m_parameters->text().trimmed();
    if (!parameters.isEmpty()) {
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(parameters.toUtf8(), &parseError);
        if (parseError.error != QJsonParseError::NoError)
            return fail(tr("Parameters: %1 at character %2.")
                            .arg(parseError.errorString())
                            .arg(parseError.offset + 1));
        if (!doc.isObject())
            return fail(tr("Parameters: expected a JSON object, {\"name\": value, …}."));
        d.parameters = doc.object();
    }
    d.maxActiveRuns = m_maxActive->value();
    schedules::parseOnLimit(m_onLimit->currentData().toString(), &d.onLimit);
    schedules::parseCatchup(m_catchup->currentData().toString(), &d.catchup);
    d.active = m_editing.isEmpty() ? true : m_original.active;
    return d;
}

void ScheduleDialog::validate()
{
    QString error;
    const std::optional<schedules::ScheduleDraft> d = draft(&error);
    m_error->setText(error);
    m_error->setVisible(!error.isEmpty());
    saveButton()->setEnabled(d.has_value() && !m_saving);
    // The fire times need only a valid expression and zone (not a name or a flow).
    schedules::ScheduleDraft timing;
    if (m_kind->currentIndex() == 0)
        timing.cron = m_expression->text().trimmed();
    else
        timing.intervalUs = ScheduleSpec::parseDuration(m_expression->text().trimmed()).value_or(0);
    timing.timezone = m_zone->currentText().trimmed();
    if (d)
        timing = *d;
    const std::optional<ScheduleSpec> spec = timing.spec();
    QStringList lines;
    if (spec) {
        for (const QDateTime& time : spec->nextFireDateTimes(QDateTime::currentDateTime(), ShownFireTimes))
            lines << isoWithOffset(time);
    }
    m_fireTimes->setText(lines.isEmpty() ? tr("—") : lines.join(QLatin1Char('\n')));
}

void ScheduleDialog::accept()
{
    QString error;
    const std::optional<schedules::ScheduleDraft> d = draft(&error);
    if (!d) {
        m_error->setText(error);
        m_error->show();
        return;
    }
    if (!m_schedules.save(m_editing, *d)) {
        m_error->setText(tr("The schedules are kept in the database, which is not open."));
        m_error->show();
        return;
    }
    m_saving = true;
    saveButton()->setEnabled(false);
}

} // namespace flowdeck
