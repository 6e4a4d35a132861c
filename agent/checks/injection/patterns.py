"""The injection detector's English signals, and :data:`SIGNALS`, every family together.

Strong signals (≥ 0.7) are phrasings a customer has no reason to write ("ignore previous
instructions", a fake ``system:`` turn, a JSON tool call); weak ones (authority, urgency) only
count together. The families aimed at taking over an agent's task are in
:mod:`agent.checks.injection.hijack`, the other languages in
:mod:`agent.checks.injection.multilingual`.
"""

from __future__ import annotations

import re

from agent.checks.injection.hijack import HIJACK
from agent.checks.injection.multilingual import MULTILINGUAL
from agent.checks.injection.signals import AI, IM, OVERRIDE_VERB, PRIOR, RULES, SYSTEM_ROLES, Signal, signal

ENGLISH: tuple[Signal, ...] = (
    signal("override", 0.9, rf"\b{OVERRIDE_VERB}\b[^.\n]{{0,40}}?\b{PRIOR}\b[^.\n]{{0,30}}?\b{RULES}\b"),
    signal(
        "override",
        0.9,
        r"\b(?:ignore|disregard|forget)\s+(?:everything|all|anything)\s+(?:above|before|previously|you (?:were|"
        r"have been) told)",
    ),
    signal(
        "override",
        0.85,
        rf"\b(?:(?:previous|prior|above|earlier|original|your)\s+{RULES}|{RULES}\s+(?:above|before this|"
        r"so far))\s+(?:are|were|is|have been)\s+(?:void|cancell?ed|outdated|obsolete|a test|fake|wrong|revoked|"
        r"replaced|no longer valid)",
    ),
    signal("override", 0.85, rf"\b(?:reset|clear|wipe|replace)\s+(?:your|all|the)\s+(?:{RULES}|memory|context)"),
    signal(
        "override",
        0.7,
        r"\bignore the (?:above|json above|text above|previous)\b|\bignore (?:the )?(?:tenant|approval|policy|"
        r"safety)\b",
    ),
    signal(
        "role_hijack",
        0.85,
        r"\byou are now\b|\bfrom now on,? you\b|\byou(?:'re| are) no longer (?:a|an|the)\b|\byou will now act\b",
    ),
    signal(
        "role_hijack",
        0.85,
        r"\b(?:act|acting|behave|respond|roleplay|role-play|pose) as (?:an? |the |my )?(?:unrestricted|unfiltered|"
        r"jailbroken|admin|administrator|root|superuser|developer|system|terminal|console|shell|dan\b|"
        r"[a-z]+ ?bot\b)",
    ),
    signal(
        "role_hijack",
        0.8,
        r"\bpretend (?:to be|you are|you're|that you)\b|\bimagine (?:a world|you are|you're|that you)\b|"
        r"\blet'?s (?:play a game|pretend|simulate)\b|\brole-?play (?:as|with me)\b|\bplay the (?:role|part) of\b|"
        r"\btake on the (?:role|persona) of\b|\bact as if you (?:were|are)\b",
    ),
    signal(
        "role_hijack",
        0.85,
        r"\b(?:developer|admin|god|debug|maintenance|sudo|jailbreak|unrestricted|dan|test) mode\b|(?-i:\bDAN\b)|"
        r"\bdo anything now\b",
    ),
    signal(
        "role_hijack",
        0.75,
        r"\b(?:no|without(?: any)?) (?:rules|restrictions|limits|filters|safety(?: training)?)\b|"
        r"\bjailbr(?:eak|oken)\b",
    ),
    # A role label at the start of a line: "SYSTEM:", "[system]: …", "### System:" in any case; a
    # bracketed label without a colon only in capitals or glued to what follows ("[SYSTEM MESSAGE]",
    # "[system](#instructions)", "[system]Hidden profile…"), since logs and tickets write
    # "(system) status changed" and "[Admin] note".
    signal(
        "fake_role",
        0.9,
        rf"^\s*[#>*\[\-=( ]*\s*{SYSTEM_ROLES}(?: message| prompt| notice| override| note| update)?\s*[\])>]?\s*:|"
        rf"^\s*\[\s*{SYSTEM_ROLES}\s*\](?=[(\[A-Za-z])",
        IM,
    ),
    signal(
        "fake_role",
        0.9,
        r"^\s*[#>*\[\-=( ]*\s*(?:SYSTEM|ASSISTANT|DEVELOPER|ADMIN|ADMINISTRATOR|TOOL|FUNCTION|ROOT)"
        r"(?: MESSAGE| PROMPT| NOTICE| OVERRIDE| NOTE| UPDATE)?\s*[\])>]",
        re.MULTILINE,
    ),
    signal("fake_role", 0.85, rf"[>\]}}]\s*{SYSTEM_ROLES}\s*:\s*\w"),
    signal(
        "fake_role",
        0.9,
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|>|<<\s*/?SYS\s*>>|\[/?INST\]",
    ),
    signal(
        "fake_role",
        0.9,
        r"<\s*/?\s*(?:system|admin|instructions?|assistant|tool_call|tool_result|tool_output|function_results?|"
        r"function_calls?|context|data|document)\b[^>]{0,60}>",
    ),
    signal(
        "fake_role",
        0.85,
        r"\b(?:begin|start|end)\s+(?:of\s+)?(?:the\s+)?(?:system\s+)?prompt\b|\bsystem (?:message|notice|prompt|"
        r"override|instruction|update)s?\b\s*[:\-]|\bmessage from (?:the )?(?:system|admin|developer|security)",
    ),
    signal("fake_role", 0.9, rf"\"role\"\s*:\s*\"{SYSTEM_ROLES}\"|^\s*(?:human|user|ai)\s*:\s*\S", IM),
    signal(
        "fake_role", 0.7, r"###\s*(?:system|instruction|response|assistant)\b|\bsystem override\b|\boverride code\b"
    ),
    signal(
        "tool_call",
        0.9,
        r"\"(?:name|tool|function|tool_name)\"\s*:\s*\"[a-z]+(?:_[a-z]+)+\"[\s\S]{0,40}\"(?:arguments|args|"
        r"parameters|input)\"|\"(?:tool_calls|function_call)\"\s*:",
    ),
    signal(
        "tool_call",
        0.85,
        r"\b(?:call|invoke|run|execute|use|trigger|perform)\s+(?:the\s+)?(?:tool\s+|"
        r"function\s+)?[a-z]+(?:_[a-z]+)+\b|\baction\s*:\s*[a-z]+(?:_[a-z]+)+|\baction input\s*:|<function=|"
        r"\b[a-z]+(?:_[a-z]+)+\s*\(\s*[a-z_]+\s*=",
    ),
    signal(
        "tool_name",
        0.5,
        r"\b(?:issue|cancel|update|create|get|find|list|search|delete|approve|send|set|grant|refund|"
        r"run)_[a-z]+(?:_[a-z]+)*\b",
    ),
    signal(
        "fake_tool_result",
        0.75,
        r"\b(?:tool|function)[ _](?:result|response|output)s?\b|\bobservation\s*:|\bresult of [a-z]+_[a-z]+|"
        r"\bapproval (?:apr_\w+ )?(?:has been |was |is )?(?:granted|approved)\b|\bapproved by (?:rita|the reviewer|"
        r"finance|management)\b|\bapproval_required\s*=\s*false",
    ),
    signal(
        "approval_bypass",
        0.8,
        r"\bwithout (?:any |further |a |the |asking (?:for )?|waiting (?:for )?|requesting )?(?:approval|review|"
        r"reviewer|confirmation|verification|checks?|authori[sz]ation|permission)\b|"
        r"\bno approval (?:is )?(?:needed|required|necessary)",
    ),
    signal("approval_bypass", 0.6, r"\bno (?:approval|review|reviewer|confirmation)\b"),
    signal(
        "approval_bypass",
        0.8,
        r"\b(?:skip|bypass|override|disable|circumvent|turn off|switch off|get around)\b.{0,25}\b(?:approval|"
        r"review|reviewer|verification|guard|polic(?:y|ies)|safety|checks?|queue|filters?)",
    ),
    signal(
        "approval_bypass",
        0.75,
        r"\b(?:do not|don't|no need to|never|without) (?:ask|wait|request)(?:ing)?\b.{0,25}\b(?:approval|"
        r"permission|confirmation|review|anyone|reviewer)|\bapprove (?:refunds|it|this|them) yourself",
    ),
    signal(
        "approval_bypass",
        0.7,
        r"\bapprovals? (?:are|is) (?:now )?(?:disabled|optional|off|not (?:needed|required)|down|broken)|"
        r"\bauto-?approv|\bverdict\s*=\s*allow|\bset to allow\b|approval (?:module|service) is (?:broken|down)",
    ),
    signal(
        "approval_claim",
        0.35,
        r"\bpre-?approved\b|\balready (?:been )?(?:approved|granted|authori[sz]ed)\b|\bapproval has already\b",
    ),
    signal(
        "exfiltration",
        0.85,
        r"\b(?:reveal|print|show|output|repeat|dump|display|leak|give me|translate|paste|"
        r"tell me)\b.{0,30}\b(?:system prompt|(?:your|the) (?:system |initial |original |hidden |secret |"
        r"full )?(?:prompt|instructions|configuration|tool definitions)|hidden instructions|api keys?|database url|"
        r"tool list)",
    ),
    signal(
        "exfiltration",
        0.8,
        r"\brepeat (?:the )?(?:text|words|everything) above\b|\bwhat (?:are|were) your (?:initial|original|system|"
        r"hidden) instructions\b|\bstarting with ['\"]you are",
    ),
    signal(
        "exfiltration",
        0.6,
        r"\b(?:list|dump|export|send) (?:every|all) (?:customers?|orders|users|records)\b|"
        r"\bother tenants?'? data\b|\bincluding (?:other tenants|globex)",
    ),
    signal(
        "addressing_ai",
        0.7,
        r"\b(?:if you are|if you're|since you are) an? (?:ai|llm|language model|assistant|automated|bot)\b|"
        rf"\bnote (?:to|for) (?:any |the )?{AI}\b|\b(?:to|for) (?:the|any) {AI} (?:reading|summari[sz]ing|"
        r"processing|that reads)\b",
    ),
    signal(
        "addressing_ai",
        0.65,
        r"\b(?:attention|dear|hey|p\.?s\.? to|reminder for|important for|instructions? for)\s+(?:the\s+|all\s+|"
        rf"any\s+)?(?:{AI}|automated agents?|support agents?)\b|\b{AI}\s*[:,]\s*(?:ignore|refund|cancel|call|run|"
        r"you must|disregard|please refund|please cancel|grant)",
    ),
    signal(
        "addressing_ai",
        0.6,
        rf"\bthe {AI}(?:'s)? (?:must|should|needs to|is required to|next (?:step|action))\b|\b{AI} (?:reading|"
        r"summari[sz]ing) this\b|\bautomated agents?\b",
    ),
    signal(
        "new_instructions",
        0.75,
        r"\b(?:new|updated|real|actual|additional|secret|hidden|true|revised) (?:instructions?|directives?|task|"
        r"system prompt|orders)\b|\byour (?:new|real|only|next|true) (?:task|job|instructions?|goal|objective|"
        r"action|step)\b",
    ),
    signal(
        "new_instructions",
        0.7,
        r"\bsupersedes? (?:all|any|every)\b|\binstead,? (?:you (?:will|must|should)|do|just)\b|"
        r"\bthis is (?:mandatory|required by policy)\b",
    ),
    signal(
        "concealment",
        0.4,
        r"\bdo not (?:mention|tell|reveal) (?:this|it|that)\b|\bdon't tell (?:anyone|the customer)\b|\bquietly\b",
    ),
    signal(
        "delimiter",
        0.7,
        r"\b(?:end|close) of (?:the )?(?:customer note|document|data|context|passage|user input|tool result|input|"
        r"conversation|note)\b|\b(?:user|customer) input ends\b|^\s*[-=#*_<>]{3,}\s*(?:end|begin|start)\b|\]\]>|"
        r"<<\s*end|\bend_of_\w+",
        IM,
    ),
    signal(
        "encoding",
        0.55,
        r"\b(?:decode|deobfuscate|rot-?13|base-?64|read (?:it )?backwards|reverse (?:the|"
        r"this))\b[^.\n]{0,40}\b(?:follow|execute|do|obey|apply|act|run)\b|\bapply rot-?13\b|^rot-?13\s*:|^hex\s*:",
        IM,
    ),
    signal(
        "hidden",
        0.35,
        r"<!--|display\s*:\s*none|font-size\s*:\s*0|\bhidden>|<span hidden|color=\"?white|\[//\]:\s*#|"
        r"<meta name=\"ai|\[!NOTE\]",
    ),
    signal(
        "authority",
        0.45,
        r"\b(?:this is|i am|i'm|message from|on behalf of|by order of|authori[sz]ed by|instructed by|as) (?:the |"
        r"your |an? |[a-z]+'s )?(?:ceo|cto|cfo|owner of this (?:bot|system)|administrator|admin|sysadmin|"
        r"system administrator|developer of this (?:bot|agent|system)|security team|fraud team|legal department|"
        r"it department|management|board|supervisor|head of \w+|regulator|auditor|openai|anthropic|root|"
        r"compliance)\b",
    ),
    signal(
        "authority",
        0.45,
        r"\b(?:(?:the )?it (?:team|desk|support)|it department|security team|fraud team|compliance|management|"
        r"legal department|the regulator|"
        r"the auditor)\b.{0,40}\b(?:instructs?|requires?|authori[sz]es?|orders?|pre-?approved|demands?)\b|"
        r"\bi have (?:root|admin) access\b|\badmin request\b|\bdebug command\b",
    ),
    signal(
        "urgency",
        0.3,
        r"\b(?:urgent|emergency|immediately|right now|final warning|time-sensitive|asap|priority 1|act now|"
        r"within the next minute)\b",
    ),
    signal(
        "bulk_action",
        0.4,
        r"\b(?:refund|cancel)\b.{0,20}\b(?:all|every|any) (?:orders?|customers?|delivered orders)\b|"
        r"\bmany small refunds\b|\bsplit the refund\b",
    ),
    signal(
        "tenant_escape",
        0.8,
        r"\b(?:switch|change|override|ignore)\b.{0,15}\btenant\b|\btenant(?:_id)?\s*[=:]\s*\w+|\ball tenants\b|"
        r"\bsister company\b",
    ),
)

SIGNALS: tuple[Signal, ...] = ENGLISH + HIJACK + MULTILINGUAL
