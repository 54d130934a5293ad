"""Poll routes, included under ``api/v1/`` by ``saka.api.urls``."""

from django.urls import path

from saka.api.polls import views as v

urlpatterns = [
    path("polls/", v.PollListView.as_view(), name="poll-list"),
    path("polls/<int:poll_id>/", v.PollDetailView.as_view(), name="poll-detail"),
    path("polls/<int:poll_id>/vote/", v.PollVoteView.as_view(), name="poll-vote"),
    path("polls/<int:poll_id>/results/", v.PollResultsView.as_view(), name="poll-results"),
    path("me/polls/<int:poll_id>/vote/", v.MyPollVoteView.as_view(), name="poll-my-vote"),
    path("staff/polls/", v.StaffPollCreateView.as_view(), name="staff-polls"),
]
