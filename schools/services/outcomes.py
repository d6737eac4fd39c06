"""What an action on several accounts did: which were done, which were refused and why
(the bulk actions of the holder's list, the yearly review)."""

from dataclasses import dataclass, field


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)  # login names
    refused: list[tuple[str, str]] = field(default_factory=list)  # (login name, why)

    def refuse(self, username: str, why: str) -> None:
        self.refused.append((username, str(why)))

    def refused_by_reason(self) -> dict[str, list[str]]:
        """The refused login names grouped by their reason, in the order first met."""
        grouped: dict[str, list[str]] = {}
        for username, why in self.refused:
            grouped.setdefault(why, []).append(username)
        return grouped
