"""What the ticket endpoints answer: the bodies of createTicket (and its dry run), getTicket,
queryTickets, updateTicket and addMessage, and the error body every endpoint shares.

The models are here for the OpenAPI document (tests/api checks every body against it); the
handlers build the bodies directly (``tickets.serializers``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from telemetron.enums import MessageRole, Priority, Status


class TicketAssignee(BaseModel):
    id: str = Field(description="mem_ + 12 hex characters.")
    email: str
    name: str


class CategoryCandidate(BaseModel):
    category: str
    score: float


class TicketRouting(BaseModel):
    ruleId: str | None = Field(description="The routing rule that matched, or null when none did.")
    reason: str | None = Field(
        description="Why the ticket was routed (or not) as it was; null when the organization had no rules."
    )


class CreateTicketResponse(BaseModel):
    success: Literal[True] = True
    ticketId: str = Field(description="The new ticket's id (a UUID).")
    message: str = "Ticket created successfully"
    customerId: str = Field(description="The customer the ticket belongs to.")
    customerCreated: bool = Field(description="Whether this request created the customer.")
    category: str | None = Field(description="The ticket's category, or null when uncategorized.")
    categorySource: Literal["provided", "ai", "none"] = Field(
        description="How the category was chosen: provided by the client, by the AI, or none yet."
    )
    categoryConfidence: float | None = Field(
        description="The AI's confidence in its best candidate when it was asked; null when it was not."
    )
    categoryCandidates: list[CategoryCandidate] | None = Field(
        description="The AI's top categories with their scores, when it was asked; else null."
    )
    status: Status = Field(description="open, or resolved when the category resolves its tickets at once.")
    descriptionGenerated: bool = Field(description="True when the description was written from the messages.")
    assignee: TicketAssignee | None = Field(description="The team member routing assigned it to, or null.")
    routing: TicketRouting = Field(description="The routing decision.")
    warnings: list[str] = Field(default_factory=list, description="Unknown fields that were ignored, and similar.")


class DryRunResponse(BaseModel):
    """createTicket?dryRun=true: what createTicket would do; nothing is stored."""

    success: Literal[True] = True
    message: str = "Dry run: nothing was created"
    dryRun: Literal[True] = True
    category: str | None
    categorySource: Literal["provided", "ai", "none"]
    categoryConfidence: float | None
    categoryCandidates: list[CategoryCandidate] | None
    priority: Priority
    status: Status
    assignee: TicketAssignee | None
    tags: list[str] = Field(description="Tags routing would add.")
    routing: TicketRouting
    notifications: list[str] = Field(description='The deliveries it would make: "slack <channel>", "webhook <url>".')
    customerCreated: bool = Field(description="Whether the real request would create the customer.")
    warnings: list[str] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: str = Field(description="What went wrong, for a developer to act on.")
    code: str = Field(description="A stable machine-readable error code.")
    field: str | None = Field(None, description="The request field at fault, when there is one.")



class TicketCustomer(BaseModel):
    id: str = Field(description="cust_ + 12 hex characters.")
    email: str
    name: str


class MessageAuthor(BaseModel):
    id: str
    name: str


class MessageDelivery(BaseModel):
    state: Literal["pending", "sent", "failed"]
    error: str | None = Field(description="Why it failed, or the last error while it is retried.")


class TicketMessageOut(BaseModel):
    id: int = Field(description="The message's id.")
    position: int = Field(description="0 for the first message, then 1, 2, ...")
    role: MessageRole
    content: str
    author: MessageAuthor | None = Field(
        description="The team member who wrote this agent message in the web app; null for messages sent through the API."
    )
    createdAt: str = Field(description="ISO 8601, UTC.")
    internal: bool = Field(description="An agents' note: never sent to the customer nor in webhooks.")
    channel: Literal["api", "email", "web"] = Field(description="How the message came in or was written.")
    delivery: MessageDelivery | None = Field(
        description="The email sent for an agent's reply on an email ticket; null when nothing is sent.")
    threading: str | None = Field(description="How an incoming email was matched to this ticket.")


class TicketSummary(BaseModel):
    id: str = Field(description="The ticket's id (a UUID).")
    title: str
    description: str = Field(description="Empty when the ticket was created without description and messages.")
    descriptionGenerated: bool = Field(description="True when the description was written from the messages.")
    priority: Priority
    status: Status
    category: str | None = Field(description="The category's name, or null when uncategorized.")
    categorySource: Literal["provided", "ai", "none"] = Field(
        description="provided (by the client or an agent), ai, or none (uncategorized)."
    )
    categoryConfidence: float | None = Field(description="The AI's confidence in its best candidate whenever it was asked (categorySource ai, or none when unsure); null when it was not asked.")
    customer: TicketCustomer
    assignee: TicketAssignee | None = Field(description="The team member the ticket is assigned to, or null.")
    tags: list[str] = Field(description="Tags, as routing rules added them.")
    createdAt: str = Field(description="ISO 8601, UTC, with microseconds.")
    updatedAt: str = Field(description="ISO 8601: the last activity (a change of status, priority, category, assignee, or a message).")
    resolvedAt: str | None = Field(description="ISO 8601 when resolved; null while not resolved.")
    number: int | None = Field(description="The organization's own ticket number: [#N] in email subjects.")
    channel: Literal["api", "email"] = Field(description="email when the ticket came in by email (replies are emailed).")
    lastCustomerMessageAt: str | None = Field(description="ISO 8601: the customer's last message; null if none.")
    waitingOnUs: bool = Field(description="The customer wrote last (or nobody answered yet) and the ticket is not resolved.")
    waitingSince: str | None = Field(description="ISO 8601: since when the customer has been waiting; null when not waiting.")


class TicketAttachment(BaseModel):
    id: str
    messageId: int = Field(description="The message it came with.")
    filename: str
    contentType: str
    size: int
    inline: bool = Field(description="An image shown inside the mail's HTML.")


class TicketDetail(TicketSummary):
    categoryCandidates: list[CategoryCandidate] | None = Field(
        description="The AI's top three categories with their scores, when the AI was asked; else null."
    )
    routing: TicketRouting = Field(description="The routing decision made when the ticket was created.")
    messages: list[TicketMessageOut] = Field(description="The conversation, in order.")
    attachments: list[TicketAttachment] = Field(description="Files that came with the ticket's emails.")


class GetTicketResponse(BaseModel):
    success: Literal[True] = True
    ticket: TicketDetail


class QueryTicketsResponse(BaseModel):
    success: Literal[True] = True
    tickets: list[TicketSummary] = Field(description="A page of tickets, without their messages.")
    nextCursor: str | None = Field(description="Send it as `cursor` for the next page; null on the last page.")
    warnings: list[str] = Field(default_factory=list)


class UpdateTicketResponse(BaseModel):
    success: Literal[True] = True
    message: str = "Ticket updated successfully"
    changed: list[Literal["status", "priority", "category", "assigneeId"]] = Field(
        description="The fields whose value changed (sending a field's current value changes nothing)."
    )
    ticket: TicketDetail
    warnings: list[str] = Field(default_factory=list)


class AddMessageResponse(BaseModel):
    success: Literal[True] = True
    message: str = "Message added successfully"
    messageId: int
    position: int = Field(description="The message's position in the conversation (0-based).")
    ticketStatus: Status = Field(description="The ticket's status after the message.")
    reopened: bool = Field(description="True when this customer message reopened a resolved ticket.")
    internal: bool = Field(description="True when the message is an agents' note.")
    warnings: list[str] = Field(default_factory=list)
