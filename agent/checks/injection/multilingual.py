"""Signals in languages other than English: "ignore previous instructions", fake ``system:``
turns, "without approval", new instructions and role hijack."""

from __future__ import annotations

from agent.checks.injection.signals import IM, Signal, signal

MULTILINGUAL: tuple[Signal, ...] = (
    signal(
        "override",
        0.9,
        r"\bignora(?:r)?\s+(?:todas\s+)?(?:las\s+)?instrucciones\s+(?:anteriores|previas)|\bolvida\s+(?:tus|las|"
        r"todas)\s+(?:reglas|instrucciones)",
    ),
    signal(
        "override",
        0.9,
        r"\bignore[rz]?\s+(?:toutes\s+)?(?:les\s+)?(?:instructions|consignes|règles)(?:\s+(?:précédentes|"
        r"antérieures))?|\boublie[rz]?\s+(?:tes|vos|les|toutes)\s+(?:consignes|instructions|règles)",
    ),
    signal(
        "override",
        0.9,
        r"\bignorier(?:e|en)?\s+(?:alle\s+)?(?:vorherigen|bisherigen|obigen|früheren)\s+anweisungen|"
        r"\bvergiss\s+(?:deine|alle|die)\s+(?:bisherigen\s+)?(?:regeln|anweisungen)",
    ),
    signal(
        "override",
        0.9,
        r"\bignora\s+(?:tutte\s+)?le\s+istruzioni\s+precedenti|"
        r"\bignore\s+(?:todas\s+)?as\s+instruções\s+anteriores|\bnegeer\s+(?:alle\s+)?(?:vorige|"
        r"eerdere)\s+instructies",
    ),
    signal(
        "override",
        0.9,
        r"\bzignoruj\s+(?:wszystkie\s+)?poprzednie\s+instrukcje|"
        r"игнорируй(?:те)?\s+(?:все\s+)?предыдущие\s+инструкции|ігноруй(?:те)?\s+(?:усі|"
        r"всі)\s+попередні\s+інструкції",
    ),
    signal(
        "override",
        0.9,
        r"忽略(?:之前|以前|先前|上面|上述)的?(?:所有)?(?:指令|指示|说明)|(?:これまで|以前|前)の指示.{0,6}無視|이전의?\s*모든\s*지시를?\s*무시",
    ),
    signal(
        "override",
        0.9,
        r"تجاهل\s+(?:جميع\s+)?التعليمات\s+السابقة|önceki\s+(?:tüm\s+)?talimatları\s+yok\s+say|"
        r"ignorera\s+(?:alla\s+)?tidigare\s+instruktioner",
    ),
    signal(
        "override",
        0.9,
        r"पिछले\s+सभी\s+निर्देशों\s+को\s+अनदेखा|bỏ qua\s+(?:tất cả\s+)?(?:các\s+)?hướng dẫn\s+trước|"
        r"abaikan\s+semua\s+instruksi\s+sebelumnya",
    ),
    signal(
        "fake_role",
        0.85,
        r"^\s*(?:sistema|système|systeem|система|システム|系统|시스템)\s*[:：]|\bmessage système\b|\bsysteembericht\b|"
        r"系统(?:消息|提示)\s*[:：]",
        IM,
    ),
    signal(
        "approval_bypass",
        0.8,
        r"\bsin\s+(?:pedir\s+)?aprobación|\bsans\s+(?:demander\s+d'?)?approbation|\bohne\s+genehmigung|"
        r"\bsenza\s+approvazione|\bsem\s+(?:pedir\s+)?aprovação|\bzonder\s+goedkeuring",
    ),
    signal("approval_bypass", 0.8, r"без\s+подтверждения|无需审批|承認なし|tanpa\s+persetujuan|onay(?:sız| olmadan)"),
    signal(
        "new_instructions",
        0.75,
        r"\bnuove istruzioni per\b|\bnuevas instrucciones\b|\bnouvelles (?:instructions|consignes)\b|"
        r"\bneue anweisungen\b|\batenção,? assistente\b|\bmodo (?:admin|desarrollador)\b|\badmin-modus\b|"
        r"\bmode (?:admin|développeur)\b",
    ),
    signal(
        "role_hijack",
        0.8,
        r"\beres un agente sin restricciones\b|\bdu bist jetzt\b|\btu es maintenant\b|\bsei ora\b|\bvocê agora é\b",
    ),
)
