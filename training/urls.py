"""Routes of the training pages (namespace ``training``)."""
from django.urls import path

from . import views, views_classes

app_name = "training"

urlpatterns = [
    path("start", views.start, name="start"),
    path("exercise", views.exercise_choose, name="exercise"),
    path("guide", views.guide_toggle, name="guide_toggle"),
    path("reset", views.reset_own_sandbox, name="reset"),
    path("certificate/<str:exercise_key>", views.certificate, name="certificate"),
    path("trainer", views.trainer, name="trainer"),
    path("trainer/board.json", views.trainer_board, name="trainer_board"),
    path("trainer/summary", views.trainer_summary, name="trainer_summary"),
    path("trainer/summary.csv", views.trainer_summary_csv, name="trainer_summary_csv"),
    path("demo/reset", views.demo_reset, name="demo_reset"),
    # Classes: the trainer's pages, and the public join flow.
    path("join", views_classes.join, name="join"),
    path("classes", views_classes.class_list, name="class_list"),
    path("classes/create", views_classes.class_new, name="class_create"),
    path("classes/<int:pk>", views_classes.class_detail, name="class_detail"),
    path("classes/<int:pk>/board.json", views_classes.class_board, name="class_board"),
    path("classes/<int:pk>/summary", views_classes.class_summary_view, name="class_summary"),
    path("classes/<int:pk>/summary.csv", views_classes.class_summary_csv, name="class_summary_csv"),
    path("classes/<int:pk>/join-page", views_classes.class_join_page, name="class_join_page"),
    path("classes/<int:pk>/close", views_classes.class_close_view, name="class_close"),
    path("classes/<int:pk>/extend", views_classes.class_extend_view, name="class_extend"),
    path("classes/<int:pk>/trainees/<int:member_pk>/reset", views_classes.member_reset_view, name="class_member_reset"),
    path("classes/<int:pk>/trainees/<int:member_pk>/remove", views_classes.member_remove_view,
         name="class_member_remove"),
]
