#include "widgets/startflowdialog.h"

#include "flow/flowparser.h"
#include "style/statestyle.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace flowdeck {

namespace {

bool isInteger(double value)
{
    return std::isfinite(value) && std::floor(value) == value
        && std::abs(value) <= double(std::numeric_limits<int>::max());
}

QString jsonText(const QJsonValue& value)
{
    if (value.isArray())
        return QString::fromUtf8(QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact));
    if (value.isObject())
        return QString::fromUtf8(QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact));
    return {};
}

} // namespace

StartFlowDialog::StartFlowDialog(const FlowEntry& entry, const FlowParser& parser, QWidget* parent)
    : QDialog(parent)
    , m_entry(entry)
    , m_parser(parser)
    , m_errors(new QLabel(this))
    , m_start(nullptr)
{
    build({}, std::nullopt);
}

StartFlowDialog::StartFlowDialog(const RerunSource& rerun, const QString& runId, const QString& source,
                                 const FlowParser& parser, QWidget* parent)
    : QDialog(parent)
    , m_entry(rerunEntry(rerun, source))
    , m_parser(parser)
    , m_errors(new QLabel(this))
    , m_start(nullptr)
{
    build(runId, rerun.seed);
}

FlowEntry StartFlowDialog::rerunEntry(const RerunSource& rerun, const QString& source)
{
    FlowEntry entry;
    entry.name
        = rerun.flowName.isEmpty() ? rerun.document.value(QStringLiteral("name")).toString() : rerun.flowName;
    entry.description = rerun.document.value(QStringLiteral("description")).toString();
    entry.source = source;
    entry.document = rerun.document;
    // The document's defaults, then the values the run had: a parameter the run did not set keeps its
    // default.
    entry.parameters = rerun.document.value(QStringLiteral("parameters")).toObject();
    for (auto it = rerun.parameters.begin(); it != rerun.parameters.end(); ++it)
        entry.parameters.insert(it.key(), it.value());
    return entry;
}

void StartFlowDialog::build(const QString& rerunOf, std::optional<quint64> seed)
{
    const FlowEntry& entry = m_entry;
    setObjectName(QStringLiteral("startFlowDialog"));
    setWindowTitle(rerunOf.isEmpty() ? tr("Start %1").arg(entry.name) : tr("Run %1 Again").arg(entry.name));
    auto* layout = new QVBoxLayout(this);

    auto* title = new QLabel(tr("<b>%1</b>").arg(entry.name.toHtmlEscaped()), this);
    layout->addWidget(title);
    if (!rerunOf.isEmpty()) {
        auto* from = new QLabel(tr("A new run with the document and parameter values of run %1; change "
                                   "them before it starts.")
                                    .arg(rerunOf),
                                this);
        from->setObjectName(QStringLiteral("rerunOf"));
        from->setWordWrap(true);
        from->setMinimumWidth(std::min(560, from->fontMetrics().averageCharWidth() * 60));
        layout->addWidget(from);
    }
    if (!entry.description.isEmpty()) {
        auto* description = new QLabel(entry.description, this);
        description->setWordWrap(true);
        description->setTextInteractionFlags(Qt::TextSelectableByMouse);
        description->setObjectName(QStringLiteral("flowDescription"));
        description->setMaximumWidth(560);
        // Word wrap alone lets the dialog shrink to a narrow column of short lines.
        description->setMinimumWidth(std::min(560, description->fontMetrics().averageCharWidth() * 60));
        layout->addWidget(description);
    }

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    const QStringList names = entry.parameters.keys();
    // The editor's kind follows the document's default (a run's value 2 of a default 0.5 is still a
    // decimal), its value the entry's.
    const QJsonObject defaults = entry.document.value(QStringLiteral("parameters")).toObject();
    for (const QString& name : names) {
        const QJsonValue value = entry.parameters.value(name);
        QWidget* widget = createEditor(value, defaults.value(name));
        widget->setObjectName(QStringLiteral("param_") + name);
        m_editors.push_back({name, value, widget});
        form->addRow(name + QLatin1Char(':'), widget);
    }
    if (names.isEmpty()) {
        auto* none = new QLabel(tr("This flow has no parameters."), this);
        none->setForegroundRole(QPalette::PlaceholderText);
        form->addRow(none);
    }
    layout->addLayout(form);
    if (seed) {
        m_seed = *seed;
        // Unchecked, a new seed is drawn, as `flowdeck runs rerun` does without --seed.
        m_sameSeed = new QCheckBox(tr("Same &seed (%1): the same random choices").arg(m_seed), this);
        m_sameSeed->setObjectName(QStringLiteral("sameSeed"));
        m_sameSeed->setChecked(false);
        connect(m_sameSeed, &QCheckBox::toggled, this, &StartFlowDialog::validate);
        layout->addWidget(m_sameSeed);
    }

    m_errors->setObjectName(QStringLiteral("errorLabel"));
    m_errors->setWordWrap(true);
    m_errors->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QPalette pal = m_errors->palette();
    pal.setColor(QPalette::WindowText, stateColor(StateType::Failed));
    m_errors->setPalette(pal);
    m_errors->setVisible(false);
    layout->addWidget(m_errors);

    // Shown once workers are known to be online on the app's database.
    m_targetBox = new QGroupBox(tr("Run on"), this);
    m_targetBox->setObjectName(QStringLiteral("targetBox"));
    auto* targets = new QVBoxLayout(m_targetBox);
    m_inApp = new QRadioButton(tr("Run in this &app"), m_targetBox);
    m_inApp->setObjectName(QStringLiteral("runInApp"));
    m_inApp->setChecked(true);
    m_onWorker = new QRadioButton(tr("&Queue for a worker"), m_targetBox);
    m_onWorker->setObjectName(QStringLiteral("queueForWorker"));
    targets->addWidget(m_inApp);
    targets->addWidget(m_onWorker);
    m_targetBox->setVisible(false);
    layout->addWidget(m_targetBox);
    connect(m_onWorker, &QRadioButton::toggled, this, &StartFlowDialog::updateStartText);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    m_start = buttons->addButton(tr("&Start"), QDialogButtonBox::AcceptRole);
    m_start->setObjectName(QStringLiteral("startButton"));
    m_start->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &StartFlowDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &StartFlowDialog::reject);
    layout->addWidget(buttons);

    validate();
}

StartFlowDialog::~StartFlowDialog() = default;

QWidget* StartFlowDialog::createEditor(const QJsonValue& value, const QJsonValue& documentDefault)
{
    switch (value.type()) {
    case QJsonValue::Double:
        if (isInteger(value.toDouble())
            && (!documentDefault.isDouble() || isInteger(documentDefault.toDouble()))) {
            auto* spin = new QSpinBox(this);
            // The parser knows what is valid (a map count of -1 is not); the editor only keeps it a number.
            spin->setRange(std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
            spin->setValue(value.toInt());
            spin->setGroupSeparatorShown(false);
            connect(spin, &QSpinBox::valueChanged, this, &StartFlowDialog::validate);
            return spin;
        } else {
            auto* spin = new QDoubleSpinBox(this);
            spin->setDecimals(3);
            spin->setRange(-1e12, 1e12);
            spin->setValue(value.toDouble());
            connect(spin, &QDoubleSpinBox::valueChanged, this, &StartFlowDialog::validate);
            return spin;
        }
    case QJsonValue::Bool: {
        auto* check = new QCheckBox(this);
        check->setChecked(value.toBool());
        connect(check, &QCheckBox::toggled, this, &StartFlowDialog::validate);
        return check;
    }
    case QJsonValue::Array:
    case QJsonValue::Object: {
        auto* text = new QPlainTextEdit(jsonText(value), this);
        text->setTabChangesFocus(true);
        text->setFixedHeight(text->fontMetrics().lineSpacing() * 4 + 10);
        text->setToolTip(value.isArray() ? tr("A JSON array") : tr("A JSON object"));
        connect(text, &QPlainTextEdit::textChanged, this, &StartFlowDialog::validate);
        return text;
    }
    default: {
        auto* line = new QLineEdit(value.toString(), this);
        line->setClearButtonEnabled(true);
        connect(line, &QLineEdit::textChanged, this, &StartFlowDialog::validate);
        return line;
    }
    }
}

QWidget* StartFlowDialog::editor(const QString& parameter) const
{
    for (const Editor& e : m_editors) {
        if (e.name == parameter)
            return e.widget;
    }
    return nullptr;
}

bool StartFlowDialog::readValues(QJsonObject* overrides, QString* error) const
{
    for (const Editor& e : m_editors) {
        if (auto* spin = qobject_cast<QSpinBox*>(e.widget)) {
            overrides->insert(e.name, spin->value());
        } else if (auto* dspin = qobject_cast<QDoubleSpinBox*>(e.widget)) {
            overrides->insert(e.name, dspin->value());
        } else if (auto* check = qobject_cast<QCheckBox*>(e.widget)) {
            overrides->insert(e.name, check->isChecked());
        } else if (auto* text = qobject_cast<QPlainTextEdit*>(e.widget)) {
            QJsonParseError parseError;
            const QJsonDocument doc = QJsonDocument::fromJson(text->toPlainText().toUtf8(), &parseError);
            const bool wantArray = e.defaultValue.isArray();
            if (parseError.error != QJsonParseError::NoError || doc.isArray() != wantArray) {
                *error = tr("%1: expected %2 (%3)")
                             .arg(e.name, wantArray ? tr("a JSON array") : tr("a JSON object"),
                                  parseError.error != QJsonParseError::NoError ? parseError.errorString()
                                                                               : tr("wrong type"));
                return false;
            }
            overrides->insert(e.name, wantArray ? QJsonValue(doc.array()) : QJsonValue(doc.object()));
        } else if (auto* line = qobject_cast<QLineEdit*>(e.widget)) {
            overrides->insert(e.name, line->text());
        }
    }
    return true;
}

QJsonObject StartFlowDialog::overrides() const
{
    QJsonObject values;
    QString error;
    readValues(&values, &error);
    return values;
}

QString StartFlowDialog::errorText() const
{
    return m_errors->isVisible() ? m_errors->text() : QString();
}

void StartFlowDialog::validate()
{
    m_flow.reset();
    QJsonObject values;
    QString error;
    QStringList lines;
    if (!readValues(&values, &error)) {
        lines << error;
    } else {
        ValidationErrors errors;
        m_flow = m_parser.resolve(m_entry.document, m_entry.source, errors, values);
        if (m_flow && m_sameSeed && m_sameSeed->isChecked())
            m_flow->seed = m_seed;
        for (const ValidationError& e : errors)
            lines << e.toString();
    }
    m_errors->setText(lines.join(QLatin1Char('\n')));
    m_errors->setVisible(!lines.isEmpty());
    m_start->setEnabled(m_flow.has_value());
    growToFit();
}

void StartFlowDialog::growToFit()
{
    // A word-wrapped label makes the layout height-for-width, and a top-level window's minimum size
    // ignores that: rows that appear while the dialog is shown (the worker choice, errors) would be
    // squeezed into the old height. Grow to the height the contents need at the current width.
    if (!isVisible())
        return;
    layout()->activate();
    const int needed = layout()->hasHeightForWidth() ? layout()->totalHeightForWidth(width())
                                                     : layout()->totalSizeHint().height();
    if (height() < needed)
        resize(width(), needed);
}

void StartFlowDialog::showEvent(QShowEvent* event)
{
    QDialog::showEvent(event);
    growToFit();
}

StartFlowDialog::Target StartFlowDialog::target() const
{
    // isHidden, not isVisible: the answer holds before the dialog is shown too.
    return !m_targetBox->isHidden() && m_onWorker->isChecked() ? Target::Worker : Target::ThisApp;
}

void StartFlowDialog::setWorkersOnline(const QStringList& names)
{
    m_workersKnown = true;
    if (names.isEmpty()) {
        m_inApp->setChecked(true);
        m_targetBox->setVisible(false);
        updateStartText();
        return;
    }
    QStringList shown = names.mid(0, 3);
    if (names.size() > shown.size())
        shown << tr("…");
    m_onWorker->setText(tr("&Queue for a worker (%n online: %1)", nullptr, int(names.size()))
                            .arg(shown.join(QStringLiteral(", "))));
    m_onWorker->setToolTip(tr("Store the run in the database; a worker (flowdeck worker) claims and runs "
                              "it. The flow travels with the run: workers need no files."));
    m_targetBox->setVisible(true);
    updateStartText();
    growToFit();
}

void StartFlowDialog::updateStartText()
{
    m_start->setText(target() == Target::Worker ? tr("&Queue") : tr("&Start"));
}

void StartFlowDialog::accept()
{
    validate();
    if (!m_flow)
        return; // the errors are on screen; the dialog stays open
    QDialog::accept();
}

} // namespace flowdeck
