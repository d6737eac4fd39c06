"""Q&A: /qa/ answers seed 000's five questions and gives the helpdesk's phone and e-mail
(SPEC sections 7 and 12)."""

import pytest

pytestmark = pytest.mark.django_db

URL = "/qa/"

SEED_QA = [
    (
        "聯絡主帳號管理人員建立帳號後沒有收到驗證信？",
        "請確認主帳號管理人員已替您建立，若建立後沒收到信請點選平台下方補寄驗證信功能。",
    ),
    (
        "登入後於網站入口處沒有看到可以填報的系統圖示的地方？",
        "請聯絡主帳號管理人員確認是否加上該系統編報站權限，若仍有問題請來電系統客服詢問。",
    ),
    ("忘記密碼了", "請至系統登入畫面下方點選忘記密碼重設功能，即可自行設定密碼！"),
    (
        "填報時對一些表單內容有疑義(e.g.欄位內容解釋等)",
        "查看簡章手冊、說明等資料後仍有問題，請致電承辦單位詢問相關內容",
    ),
    (
        "填報時有操作問題(e.g.送出按鈕失敗、無法儲存資料等)",
        "查看操作手冊、說明等資料後仍有問題，請致電、信箱詢問系統客服相關操作問題",
    ),
]


@pytest.mark.parametrize(("question", "answer"), SEED_QA)
def test_it_answers_the_seeds_questions(client, question, answer):
    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert question in page
    assert answer in page


def test_it_gives_the_helpdesk_phone_and_mail_from_settings(client, settings):
    settings.HELPDESK_PHONE = "02-7736-7800 #9999"
    settings.HELPDESK_EMAIL = "desk@example.edu.tw"

    page = client.get(URL).content.decode()

    main = page.split('id="main"', 1)[1].split("site-footer", 1)[0]  # not just the footer
    assert "02-7736-7800 #9999" in main
    assert "desk@example.edu.tw" in main


@pytest.mark.parametrize(
    "path", ["/verify/resend/", "/password/forgot/", "/infosearch/", "/apply/"]
)
def test_it_links_to_the_pages_that_solve_the_problems(client, path):
    page = client.get(URL).content.decode()

    assert f'href="{path}"' in page
    assert client.get(path).status_code == 200


def test_it_is_read_only(client):
    assert client.post(URL).status_code == 405
