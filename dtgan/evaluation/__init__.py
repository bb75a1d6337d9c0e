"""Evaluation of synthesis sets (protocol.md §5, supplement E.5): Fréchet distance / KID per (product, domain,
mode), background preservation, target-domain accuracy with a real-only classifier, diversity and memorisation."""
