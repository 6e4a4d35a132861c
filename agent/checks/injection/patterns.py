"""The injection detector's signals: named patterns with weights (0–1).

A weight is how strongly one signal alone suggests text aimed at the system rather than a
support request; :mod:`agent.checks.injection.detector` combines the signals found. Strong signals
(≥ 0.7) are phrasings a customer has no reason to write ("ignore previous instructions", a
fake ``system:`` turn, a JSON tool call); weak ones (authority, urgency) only count together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_I = re.IGNORECASE
_IM = re.IGNORECASE | re.MULTILINE


@dataclass(frozen=True)
class Signal:
    name: str
    weight: float
    pattern: re.Pattern[str]


def _s(name: str, weight: float, pattern: str, flags: int = _I) -> Signal:
    return Signal(name, weight, re.compile(pattern, flags))


_OVERRIDE_VERB = (
    r"(?:ignore|disregard|forget|override|overrule|bypass|drop|abandon|nevermind|never mind"
    r"|do not follow|don't follow|stop following)"
)
_PRIOR = (
    r"(?:previous|prior|preceding|above|earlier|former|original|initial|old|existing"
    r"|all|any|your|system|the|these|those|my)"
)
_RULES = (
    r"(?:instructions?|rules?|prompts?|guidelines?|directives?|constraints?|programming|guardrails?"
    r"|restrictions?|commands?|system message|training|context|consignes?)"
)
_AI = r"(?:ai|a\.i\.|assistant|assistants|agent|agents|model|llm|bot|bots|chatbot|gpt|language model)"
_SYSTEM_ROLES = r"(?:system|assistant|developer|admin|administrator|tool|function|root)"

ENGLISH: tuple[Signal, ...] = (
    _s("override", 0.9, rf"\b{_OVERRIDE_VERB}\b[^.\n]{{0,40}}?\b{_PRIOR}\b[^.\n]{{0,30}}?\b{_RULES}\b"),
    _s(
        "override",
        0.9,
        r"\b(?:ignore|disregard|forget)\s+(?:everything|all|anything)\s+(?:above|before|previously|you (?:were|"
        r"have been) told)",
    ),
    _s(
        "override",
        0.85,
        rf"\b(?:(?:previous|prior|above|earlier|original|your)\s+{_RULES}|{_RULES}\s+(?:above|before this|"
        r"so far))\s+(?:are|were|is|have been)\s+(?:void|cancell?ed|outdated|obsolete|a test|fake|wrong|revoked|"
        r"replaced|no longer valid)",
    ),
    _s("override", 0.85, rf"\b(?:reset|clear|wipe|replace)\s+(?:your|all|the)\s+(?:{_RULES}|memory|context)"),
    _s(
        "override",
        0.7,
        r"\bignore the (?:above|json above|text above|previous)\b|\bignore (?:the )?(?:tenant|approval|policy|"
        r"safety)\b",
    ),
    _s(
        "role_hijack",
        0.85,
        r"\byou are now\b|\bfrom now on,? you\b|\byou(?:'re| are) no longer (?:a|an|the)\b|\byou will now act\b",
    ),
    _s(
        "role_hijack",
        0.85,
        r"\b(?:act|acting|behave|respond|roleplay|role-play|pose) as (?:an? |the |my )?(?:unrestricted|unfiltered|"
        r"jailbroken|admin|administrator|root|superuser|developer|system|terminal|console|shell|dan\b|"
        r"[a-z]+ ?bot\b)",
    ),
    _s(
        "role_hijack",
        0.8,
        r"\bpretend (?:to be|you are|you're|that you)\b|\bimagine (?:a world|you are|you're|that you)\b|"
        r"\blet'?s (?:play a game|pretend|simulate)\b",
    ),
    _s(
        "role_hijack",
        0.85,
        r"\b(?:developer|admin|god|debug|maintenance|sudo|jailbreak|unrestricted|dan|test) mode\b|(?-i:\bDAN\b)|"
        r"\bdo anything now\b",
    ),
    _s(
        "role_hijack",
        0.75,
        r"\b(?:no|without any?) (?:rules|restrictions|limits|filters|safety(?: training)?)\b|\bjailbr(?:eak|oken)\b",
    ),
    _s(
        "fake_role",
        0.9,
        rf"^\s*[#>*\[\-=( ]*\s*{_SYSTEM_ROLES}(?: message| prompt| notice| override| note| update)?\s*[\]):>]",
        _IM,
    ),
    _s("fake_role", 0.85, rf"[>\]}}]\s*{_SYSTEM_ROLES}\s*:\s*\w"),
    _s(
        "fake_role",
        0.9,
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|>|<<\s*/?SYS\s*>>|\[/?INST\]",
    ),
    _s(
        "fake_role",
        0.9,
        r"<\s*/?\s*(?:system|admin|instructions?|assistant|tool_call|tool_result|tool_output|function_results?|"
        r"function_calls?|context|data|document)\b[^>]{0,60}>",
    ),
    _s(
        "fake_role",
        0.85,
        r"\b(?:begin|start|end)\s+(?:of\s+)?(?:the\s+)?(?:system\s+)?prompt\b|\bsystem (?:message|notice|prompt|"
        r"override|instruction|update)s?\b\s*[:\-]|\bmessage from (?:the )?(?:system|admin|developer|security)",
    ),
    _s("fake_role", 0.9, rf"\"role\"\s*:\s*\"{_SYSTEM_ROLES}\"|^\s*(?:human|user|ai)\s*:\s*\S", _IM),
    _s("fake_role", 0.7, r"###\s*(?:system|instruction|response|assistant)\b|\bsystem override\b|\boverride code\b"),
    _s(
        "tool_call",
        0.9,
        r"\"(?:name|tool|function|tool_name)\"\s*:\s*\"[a-z]+(?:_[a-z]+)+\"[\s\S]{0,40}\"(?:arguments|args|"
        r"parameters|input)\"|\"(?:tool_calls|function_call)\"\s*:",
    ),
    _s(
        "tool_call",
        0.85,
        r"\b(?:call|invoke|run|execute|use|trigger|perform)\s+(?:the\s+)?(?:tool\s+|"
        r"function\s+)?[a-z]+(?:_[a-z]+)+\b|\baction\s*:\s*[a-z]+(?:_[a-z]+)+|\baction input\s*:|<function=|"
        r"\b[a-z]+(?:_[a-z]+)+\s*\(\s*[a-z_]+\s*=",
    ),
    _s(
        "tool_name",
        0.5,
        r"\b(?:issue|cancel|update|create|get|find|list|search|delete|approve|send|set|grant|refund|"
        r"run)_[a-z]+(?:_[a-z]+)*\b",
    ),
    _s(
        "fake_tool_result",
        0.75,
        r"\b(?:tool|function)[ _](?:result|response|output)s?\b|\bobservation\s*:|\bresult of [a-z]+_[a-z]+|"
        r"\bapproval (?:apr_\w+ )?(?:has been |was |is )?(?:granted|approved)\b|\bapproved by (?:rita|the reviewer|"
        r"finance|management)\b|\bapproval_required\s*=\s*false",
    ),
    _s(
        "approval_bypass",
        0.8,
        r"\bwithout (?:any |further |a |the |asking (?:for )?|waiting (?:for )?|requesting )?(?:approval|review|"
        r"reviewer|confirmation|verification|checks?|authori[sz]ation|permission)\b|"
        r"\bno approval (?:is )?(?:needed|required|necessary)",
    ),
    _s("approval_bypass", 0.6, r"\bno (?:approval|review|reviewer|confirmation)\b"),
    _s(
        "approval_bypass",
        0.8,
        r"\b(?:skip|bypass|override|disable|circumvent|turn off|switch off|get around)\b.{0,25}\b(?:approval|"
        r"review|reviewer|verification|guard|polic(?:y|ies)|safety|checks?|queue|filters?)",
    ),
    _s(
        "approval_bypass",
        0.75,
        r"\b(?:do not|don't|no need to|never|without) (?:ask|wait|request)(?:ing)?\b.{0,25}\b(?:approval|"
        r"permission|confirmation|review|anyone|reviewer)|\bapprove (?:refunds|it|this|them) yourself",
    ),
    _s(
        "approval_bypass",
        0.7,
        r"\bapprovals? (?:are|is) (?:now )?(?:disabled|optional|off|not (?:needed|required)|down|broken)|"
        r"\bauto-?approv|\bverdict\s*=\s*allow|\bset to allow\b|approval (?:module|service) is (?:broken|down)",
    ),
    _s(
        "approval_claim",
        0.35,
        r"\bpre-?approved\b|\balready (?:been )?(?:approved|granted|authori[sz]ed)\b|\bapproval has already\b",
    ),
    _s(
        "exfiltration",
        0.85,
        r"\b(?:reveal|print|show|output|repeat|dump|display|leak|give me|translate|paste|"
        r"tell me)\b.{0,30}\b(?:system prompt|(?:your|the) (?:system |initial |original |hidden |secret |"
        r"full )?(?:prompt|instructions|configuration|tool definitions)|hidden instructions|api keys?|database url|"
        r"tool list)",
    ),
    _s(
        "exfiltration",
        0.8,
        r"\brepeat (?:the )?(?:text|words|everything) above\b|\bwhat (?:are|were) your (?:initial|original|system|"
        r"hidden) instructions\b|\bstarting with ['\"]you are",
    ),
    _s(
        "exfiltration",
        0.6,
        r"\b(?:list|dump|export|send) (?:every|all) (?:customers?|orders|users|records)\b|"
        r"\bother tenants?'? data\b|\bincluding (?:other tenants|globex)",
    ),
    _s(
        "addressing_ai",
        0.7,
        r"\b(?:if you are|if you're|since you are) an? (?:ai|llm|language model|assistant|automated|bot)\b|"
        rf"\bnote (?:to|for) (?:any |the )?{_AI}\b|\b(?:to|for) (?:the|any) {_AI} (?:reading|summari[sz]ing|"
        r"processing|that reads)\b",
    ),
    _s(
        "addressing_ai",
        0.65,
        r"\b(?:attention|dear|hey|p\.?s\.? to|reminder for|important for|instructions? for)\s+(?:the\s+|all\s+|"
        rf"any\s+)?(?:{_AI}|automated agents?|support agents?)\b|\b{_AI}\s*[:,]\s*(?:ignore|refund|cancel|call|run|"
        r"you must|disregard|please refund|please cancel|grant)",
    ),
    _s(
        "addressing_ai",
        0.6,
        rf"\bthe {_AI}(?:'s)? (?:must|should|needs to|is required to|next (?:step|action))\b|\b{_AI} (?:reading|"
        r"summari[sz]ing) this\b|\bautomated agents?\b",
    ),
    _s(
        "new_instructions",
        0.75,
        r"\b(?:new|updated|real|actual|additional|secret|hidden|true|revised) (?:instructions?|directives?|task|"
        r"system prompt|orders)\b|\byour (?:new|real|only|next|true) (?:task|job|instructions?|goal|objective|"
        r"action|step)\b",
    ),
    _s(
        "new_instructions",
        0.7,
        r"\bsupersedes? (?:all|any|every)\b|\binstead,? (?:you (?:will|must|should)|do|just)\b|"
        r"\bthis is (?:mandatory|required by policy)\b",
    ),
    _s(
        "concealment",
        0.4,
        r"\bdo not (?:mention|tell|reveal) (?:this|it|that)\b|\bdon't tell (?:anyone|the customer)\b|\bquietly\b",
    ),
    _s(
        "delimiter",
        0.7,
        r"\b(?:end|close) of (?:the )?(?:customer note|document|data|context|passage|user input|tool result|input|"
        r"conversation|note)\b|\b(?:user|customer) input ends\b|^\s*[-=#*_<>]{3,}\s*(?:end|begin|start)\b|\]\]>|"
        r"<<\s*end|\bend_of_\w+",
        _IM,
    ),
    _s(
        "encoding",
        0.55,
        r"\b(?:decode|deobfuscate|rot-?13|base-?64|read (?:it )?backwards|reverse (?:the|"
        r"this))\b[^.\n]{0,40}\b(?:follow|execute|do|obey|apply|act|run)\b|\bapply rot-?13\b|^rot-?13\s*:|^hex\s*:",
        _IM,
    ),
    _s(
        "hidden",
        0.35,
        r"<!--|display\s*:\s*none|font-size\s*:\s*0|\bhidden>|<span hidden|color=\"?white|\[//\]:\s*#|"
        r"<meta name=\"ai|\[!NOTE\]",
    ),
    _s(
        "authority",
        0.45,
        r"\b(?:this is|i am|i'm|message from|on behalf of|by order of|authori[sz]ed by|instructed by|as) (?:the |"
        r"your |an? |acme(?:'s)? )?(?:ceo|cto|cfo|owner of this (?:bot|system)|administrator|admin|sysadmin|"
        r"system administrator|developer of this (?:bot|agent|system)|security team|fraud team|legal department|"
        r"it department|management|board|supervisor|head of \w+|regulator|auditor|openai|anthropic|root|"
        r"compliance)\b",
    ),
    _s(
        "authority",
        0.45,
        r"\b(?:acme it|it department|security team|fraud team|compliance|management|legal department|the regulator|"
        r"the auditor)\b.{0,40}\b(?:instructs?|requires?|authori[sz]es?|orders?|pre-?approved|demands?)\b|"
        r"\bi have (?:root|admin) access\b|\badmin request\b|\bdebug command\b",
    ),
    _s(
        "urgency",
        0.3,
        r"\b(?:urgent|emergency|immediately|right now|final warning|time-sensitive|asap|priority 1|act now|"
        r"within the next minute)\b",
    ),
    _s(
        "bulk_action",
        0.4,
        r"\b(?:refund|cancel)\b.{0,20}\b(?:all|every|any) (?:orders?|customers?|delivered orders)\b|"
        r"\bmany small refunds\b|\bsplit the refund\b",
    ),
    _s(
        "tenant_escape",
        0.8,
        r"\b(?:switch|change|override|ignore)\b.{0,15}\btenant\b|\btenant(?:_id)?\s*[=:]\s*\w+|\ball tenants\b|"
        r"\bsister company\b",
    ),
)

# "Ignore previous instructions", "system:", "without approval" and kin in other languages.
MULTILINGUAL: tuple[Signal, ...] = (
    _s(
        "override",
        0.9,
        r"\bignora(?:r)?\s+(?:todas\s+)?(?:las\s+)?instrucciones\s+(?:anteriores|previas)|\bolvida\s+(?:tus|las|"
        r"todas)\s+(?:reglas|instrucciones)",
    ),
    _s(
        "override",
        0.9,
        r"\bignore[rz]?\s+(?:toutes\s+)?(?:les\s+)?(?:instructions|consignes|règles)(?:\s+(?:précédentes|"
        r"antérieures))?|\boublie[rz]?\s+(?:tes|vos|les|toutes)\s+(?:consignes|instructions|règles)",
    ),
    _s(
        "override",
        0.9,
        r"\bignorier(?:e|en)?\s+(?:alle\s+)?(?:vorherigen|bisherigen|obigen|früheren)\s+anweisungen|"
        r"\bvergiss\s+(?:deine|alle|die)\s+(?:bisherigen\s+)?(?:regeln|anweisungen)",
    ),
    _s(
        "override",
        0.9,
        r"\bignora\s+(?:tutte\s+)?le\s+istruzioni\s+precedenti|"
        r"\bignore\s+(?:todas\s+)?as\s+instruções\s+anteriores|\bnegeer\s+(?:alle\s+)?(?:vorige|"
        r"eerdere)\s+instructies",
    ),
    _s(
        "override",
        0.9,
        r"\bzignoruj\s+(?:wszystkie\s+)?poprzednie\s+instrukcje|"
        r"игнорируй(?:те)?\s+(?:все\s+)?предыдущие\s+инструкции|ігноруй(?:те)?\s+(?:усі|"
        r"всі)\s+попередні\s+інструкції",
    ),
    _s(
        "override",
        0.9,
        r"忽略(?:之前|以前|先前|上面|上述)的?(?:所有)?(?:指令|指示|说明)|(?:これまで|以前|前)の指示.{0,6}無視|이전의?\s*모든\s*지시를?\s*무시",
    ),
    _s(
        "override",
        0.9,
        r"تجاهل\s+(?:جميع\s+)?التعليمات\s+السابقة|önceki\s+(?:tüm\s+)?talimatları\s+yok\s+say|"
        r"ignorera\s+(?:alla\s+)?tidigare\s+instruktioner",
    ),
    _s(
        "override",
        0.9,
        r"पिछले\s+सभी\s+निर्देशों\s+को\s+अनदेखा|bỏ qua\s+(?:tất cả\s+)?(?:các\s+)?hướng dẫn\s+trước|"
        r"abaikan\s+semua\s+instruksi\s+sebelumnya",
    ),
    _s(
        "fake_role",
        0.85,
        r"^\s*(?:sistema|système|systeem|система|システム|系统|시스템)\s*[:：]|\bmessage système\b|\bsysteembericht\b|"
        r"系统(?:消息|提示)\s*[:：]",
        _IM,
    ),
    _s(
        "approval_bypass",
        0.8,
        r"\bsin\s+(?:pedir\s+)?aprobación|\bsans\s+(?:demander\s+d'?)?approbation|\bohne\s+genehmigung|"
        r"\bsenza\s+approvazione|\bsem\s+(?:pedir\s+)?aprovação|\bzonder\s+goedkeuring",
    ),
    _s("approval_bypass", 0.8, r"без\s+подтверждения|无需审批|承認なし|tanpa\s+persetujuan|onay(?:sız| olmadan)"),
    _s(
        "new_instructions",
        0.75,
        r"\bnuove istruzioni per\b|\bnuevas instrucciones\b|\bnouvelles (?:instructions|consignes)\b|"
        r"\bneue anweisungen\b|\batenção,? assistente\b|\bmodo (?:admin|desarrollador)\b|\badmin-modus\b|"
        r"\bmode (?:admin|développeur)\b",
    ),
    _s(
        "role_hijack",
        0.8,
        r"\beres un agente sin restricciones\b|\bdu bist jetzt\b|\btu es maintenant\b|\bsei ora\b|\bvocê agora é\b",
    ),
)

SIGNALS: tuple[Signal, ...] = ENGLISH + MULTILINGUAL
